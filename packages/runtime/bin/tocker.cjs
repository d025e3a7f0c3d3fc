#!/usr/bin/env -S node --single-threaded --min-semi-space-size=16
// --single-threaded: tocker fork()s container processes from JavaScript (see src/namespaces.ts).
// --min-semi-space-size=16: a CLI lives ~0.2 s; a young generation big enough for all of it
// spares the scavenges, which after fork() would copy every page they touch.
'use strict';
const { readFileSync, renameSync, writeFileSync } = require('node:fs');
const { createRequire } = require('node:module');
const { join } = require('node:path');
const { Script } = require('node:vm');

// The CLI is on the path of every container start, so its bundle is compiled from V8's
// code cache (~7 ms less). The first run, and the first after a rebuild or a Node
// upgrade, writes the cache; a read-only install simply runs without one.
const dist = join(__dirname, '..', 'dist');
const bundle = join(dist, 'tocker.cjs');
const cache = `${bundle}.v8cache`;
let cachedData;
try {
  cachedData = readFileSync(cache);
} catch {}
const wrapped = `(function (exports, require, module, __filename, __dirname) {${readFileSync(bundle, 'utf8')}\n})`;
const script = new Script(wrapped, { filename: bundle, cachedData });
if (cachedData === undefined || script.cachedDataRejected) {
  process.once('exit', () => {
    try {
      writeFileSync(`${cache}.${process.pid}`, script.createCachedData());
      renameSync(`${cache}.${process.pid}`, cache);
    } catch {}
  });
}
const bundleModule = { exports: {} };
script.runInThisContext()(bundleModule.exports, createRequire(bundle), bundleModule, bundle, dist);
