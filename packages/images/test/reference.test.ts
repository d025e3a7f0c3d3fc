import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canonicalName, familiarName, parseReference } from '../src/reference.js';

test('image references are completed as docker completes them, and shown as people say them', () => {
  const digest = `sha256:${'ab'.repeat(32)}`;
  for (const [typed, canonical, familiar] of [
    ['busybox', 'docker.io/library/busybox:latest', 'busybox:latest'],
    ['library/alpine:3.20', 'docker.io/library/alpine:3.20', 'alpine:3.20'],
    ['bitnami/redis', 'docker.io/bitnami/redis:latest', 'bitnami/redis:latest'],
    ['localhost:5000/team/app:1.0', 'localhost:5000/team/app:1.0', 'localhost:5000/team/app:1.0'],
    ['localhost/app', 'localhost/app:latest', 'localhost/app:latest'],
    [
      'registry.example.com/a/b/c',
      'registry.example.com/a/b/c:latest',
      'registry.example.com/a/b/c:latest',
    ],
    [
      `localhost:5000/team/app@${digest}`,
      `localhost:5000/team/app@${digest}`,
      `localhost:5000/team/app@${digest}`,
    ],
    ['[::1]:5000/app:v1', '[::1]:5000/app:v1', '[::1]:5000/app:v1'],
  ] as const) {
    assert.equal(canonicalName(parseReference(typed)), canonical, typed);
    assert.equal(familiarName(canonical), familiar, typed);
  }
});

test('references that are not are refused with the reason', () => {
  for (const [typed, reason] of [
    ['', /1 to 512 characters/],
    ['Busybox', /lowercase/],
    ['busybox:', /a tag is/],
    ['busybox:-x', /a tag is/],
    ['busybox@sha256:abc', /64 hex digits/],
    ['a//b', /lowercase/],
    ['../etc', /\.\. is not a registry/],
  ] as const) {
    assert.throws(() => parseReference(typed), reason, typed);
  }
});
