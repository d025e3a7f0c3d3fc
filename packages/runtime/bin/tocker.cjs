#!/usr/bin/env -S node --single-threaded --min-semi-space-size=16
// --single-threaded: tocker fork()s container processes from JavaScript (see src/namespaces.ts).
// --min-semi-space-size=16: a CLI lives ~0.2 s; a young generation big enough for all of it
// spares the scavenges, which after fork() would copy every page they touch.
require('../dist/tocker.cjs');
