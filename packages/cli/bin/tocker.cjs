#!/usr/bin/env -S node --min-semi-space-size=16 --no-opt
// --min-semi-space-size=16: a CLI lives ~0.1 s; a young generation big enough for all of it
// spares it every scavenge. --no-opt: nor does a CLI run long enough for TurboFan's
// optimized code to pay back its compiling (~5 ms of CPU per run --rm); its long commands
// (import, save, pull) spend their time in zlib, hashing and the disk (no slower without).
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
// V8 rejects a cache made under other flags: one file per set of flags, so that a
// process started with different ones (node FLAGS tocker.cjs) does not rewrite another's.
let flags = 5381;
for (const char of process.execArgv.join(' ')) flags = (flags * 33 + char.charCodeAt(0)) >>> 0;
const cache = `${bundle}.${flags.toString(36)}.v8cache`;
let cachedData;
try {
  cachedData = readFileSync(cache);
} catch {}
// The bundle is a function expression (see build.mjs), and ASCII (esbuild escapes the
// rest): latin1 is its exact text, read without decoding.
const script = new Script(readFileSync(bundle, 'latin1'), { filename: bundle, cachedData });
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
