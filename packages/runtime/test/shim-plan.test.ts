import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodePlan, step } from '../src/shim/plan.js';

/** One argument as shim/plan.c reads it, spelled out byte by byte. */
function number(value: bigint): Buffer {
  const bytes = Buffer.alloc(9);
  bytes[0] = 1;
  bytes.writeBigInt64LE(value, 1);
  return bytes;
}

function bytes(content: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header[0] = 2;
  header.writeUInt32LE(content.length, 1);
  return Buffer.concat([header, content]);
}

function stepHeader(code: number, count: number): Buffer {
  const header = Buffer.alloc(4);
  header.writeUInt16LE(code, 0);
  header.writeUInt16LE(count, 2);
  return header;
}

test("a plan's bytes: every kind of argument, at the edges of its range, as tocker-shim reads them", () => {
  const numbers = [0, 1, -1, 255, 2 ** 31, -(2 ** 31) - 1, 2 ** 32, -(2 ** 40) + 7, 2 ** 53 - 1];
  const bigints = [2n ** 63n - 1n, -(2n ** 63n), 2n ** 64n + 5n]; // the last wraps, as an i64
  const plan = encodePlan([
    step(1, ...numbers),
    step(2, ...bigints, 2 ** 60),
    step(3, 'ascii', '', 'données/日本'),
    step(65535, Buffer.from([0, 1, 2, 255]), Buffer.alloc(0), null),
    step(4),
  ]);
  const expected = Buffer.concat([
    Buffer.from('TKS1'),
    Buffer.from([5, 0, 0, 0]),
    stepHeader(1, numbers.length),
    ...numbers.map((value) => number(BigInt(value))),
    stepHeader(2, 4),
    ...bigints.map((value) => number(BigInt.asIntN(64, value))),
    number(2n ** 60n),
    stepHeader(3, 3),
    bytes(Buffer.from('ascii\0')),
    bytes(Buffer.from('\0')),
    bytes(Buffer.from('données/日本\0')),
    stepHeader(65535, 3),
    bytes(Buffer.from([0, 1, 2, 255])),
    bytes(Buffer.alloc(0)),
    bytes(Buffer.alloc(0)),
    stepHeader(4, 0),
  ]);
  assert.deepEqual(plan, expected);
});

test('a plan refuses a string with a NUL in it, and a number that is not a whole one', () => {
  assert.throws(() => encodePlan([step(1, 'a\0b')]), /must not contain NUL/);
  assert.throws(() => encodePlan([step(1, 1.5)]), RangeError);
});
