#!/usr/bin/env -S node --single-threaded
// --single-threaded: tocker fork()s container processes from JavaScript (see src/namespaces.ts).
require('../dist/tocker.cjs');
