// config.json into a RuntimeConfig (the one conversion OCI bundles go through): what it
// honours, and every refusal being one line that names the field.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { bundleConfig, withExecProcess } from '../src/config/oci-bundle.js';
import { SeccompProfiles } from '../src/security/seccomp.js';
import { MS_NODEV, MS_NOSUID, MS_REC } from '../src/sys/libc.js';

const bundle = mkdtempSync(join(tmpdir(), 'tocker-oci-bundle-unit-'));
mkdirSync(join(bundle, 'rootfs'));
mkdirSync(join(bundle, 'data'));
const profiles = new SeccompProfiles(join(bundle, 'seccomp'));
after(() => rmSync(bundle, { recursive: true, force: true }));

type Json = Record<string, unknown> & { linux: Record<string, unknown> };

/** A minimal valid config.json, changed by `edit`. */
function configJson(edit: (json: Json) => void) {
  const json = {
    ociVersion: '1.0.2',
    process: { user: { uid: 0, gid: 0 }, args: ['sh'], cwd: '/' },
    root: { path: 'rootfs' },
    mounts: [] as unknown[],
    linux: { namespaces: [{ type: 'mount' }, { type: 'pid' }] } as Record<string, unknown>,
  };
  edit(json);
  return json;
}

const convert = (json: unknown) => bundleConfig(bundle, json, profiles);

describe('OCI bundles: config.json converted once, refusals named', () => {
  test("the root relative to the bundle, used in place; namespaces listed are its own, the others the host's", () => {
    const { config } = convert(configJson(() => undefined));
    assert.deepEqual(config.root.layers, [join(bundle, 'rootfs')]);
    assert.equal(config.root.inPlace, true);
    assert.equal(config.linux.namespaces.pid, 'own');
    assert.equal(config.linux.namespaces.ipc, 'host');
    assert.deepEqual(config.network, { mode: 'host' });
  });

  test('mount options become flags, propagation and data; binds resolve their source', () => {
    const { config } = convert(
      configJson((json) => {
        json.mounts = [
          {
            destination: '/data',
            type: 'bind',
            source: 'data',
            options: ['rbind', 'ro', 'nosuid', 'rslave'],
          },
          {
            destination: '/tmp',
            type: 'tmpfs',
            source: 'tmpfs',
            options: ['nosuid', 'nodev', 'mode=1777', 'size=64k', 'defaults'],
          },
          { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['ro'] },
        ];
      }),
    );
    assert.deepEqual(config.mounts[0], {
      kind: 'bind',
      source: join(bundle, 'data'),
      target: '/data',
      readOnly: true,
      volume: null,
      recursive: true,
      flags: MS_NOSUID,
      propagation: 0x80000 | MS_REC,
    });
    assert.deepEqual(config.mounts[1], {
      kind: 'filesystem',
      type: 'tmpfs',
      source: 'tmpfs',
      target: '/tmp',
      flags: MS_NOSUID | MS_NODEV,
      data: 'mode=1777,size=64k',
      propagation: 0,
    });
    assert.deepEqual(config.mounts[2], {
      kind: 'cgroup',
      target: '/sys/fs/cgroup',
      readOnly: true,
    });
  });

  test("an exec's process replaces the container's, checked the same way", () => {
    const { config } = convert(configJson(() => undefined));
    const exec = withExecProcess(config, {
      user: { uid: 1000, gid: 1000 },
      args: ['id'],
      cwd: '/tmp',
      consoleSize: { height: 10, width: 20 },
    });
    assert.deepEqual(exec.config.process.args, ['id']);
    assert.equal(exec.config.process.user.uid, 1000);
    assert.deepEqual(exec.consoleSize, { rows: 10, columns: 20 });
    assert.throws(() => withExecProcess(config, { user: { uid: 0, gid: 0 }, args: [], cwd: '/' }), {
      message: /^process: args: a command is needed$/,
    });
  });

  const refusals: [string, (json: Json) => void, RegExp][] = [
    ['no ociVersion', (json) => delete json.ociVersion, /^config\.json: ociVersion: /],
    [
      'an empty command',
      (json) => {
        json.process = { user: { uid: 0, gid: 0 }, args: [], cwd: '/' };
      },
      /process\.args: a command is needed/,
    ],
    [
      'a relative cwd',
      (json) => {
        json.process = { user: { uid: 0, gid: 0 }, args: ['sh'], cwd: 'tmp' };
      },
      /process\.cwd: an absolute path/,
    ],
    [
      'a root that does not exist',
      (json) => {
        json.root = { path: 'missing' };
      },
      /root\.path .*missing does not exist/,
    ],
    [
      'an unknown capability',
      (json) => {
        json.process = {
          user: { uid: 0, gid: 0 },
          args: ['sh'],
          cwd: '/',
          capabilities: { bounding: ['CAP_NONSENSE'] },
        };
      },
      /unknown capability CAP_NONSENSE/,
    ],
    [
      'an unknown rlimit',
      (json) => {
        json.process = {
          user: { uid: 0, gid: 0 },
          args: ['sh'],
          cwd: '/',
          rlimits: [{ type: 'RLIMIT_BOGUS', soft: 1, hard: 1 }],
        };
      },
      /unknown type RLIMIT_BOGUS/,
    ],
    [
      'env without =',
      (json) => {
        json.process = { user: { uid: 0, gid: 0 }, args: ['sh'], cwd: '/', env: ['PATH'] };
      },
      /"PATH" is not KEY=VALUE/,
    ],
    [
      'no mount namespace',
      (json) => {
        json.linux.namespaces = [{ type: 'pid' }];
      },
      /a mount namespace of the container's own/,
    ],
    [
      'a namespace listed twice',
      (json) => {
        json.linux.namespaces = [{ type: 'mount' }, { type: 'pid' }, { type: 'pid' }];
      },
      /pid is listed twice/,
    ],
    [
      'an unknown namespace',
      (json) => {
        json.linux.namespaces = [{ type: 'mount' }, { type: 'wat' }];
      },
      /unknown type wat/,
    ],
    [
      'a mount namespace by path',
      (json) => {
        json.linux.namespaces = [{ type: 'mount', path: '/proc/1/ns/mnt' }];
      },
      /joining a mount namespace is not supported/,
    ],
    [
      'a hostname without a UTS namespace',
      (json) => {
        json.hostname = 'x';
      },
      /hostname and domainname need a UTS namespace/,
    ],
    [
      'a host sysctl',
      (json) => {
        json.linux.sysctl = { 'kernel.panic': '1' };
      },
      /sysctl kernel\.panic: not a parameter of the container's own namespaces/,
    ],
    [
      'a net sysctl on the host network',
      (json) => {
        json.linux.sysctl = { 'net.ipv4.ip_forward': '1' };
      },
      /no network namespace of its own/,
    ],
    [
      'mappings without a user namespace',
      (json) => {
        json.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 1 }];
      },
      /uidMappings need a user namespace/,
    ],
    [
      'a mount destination with ..',
      (json) => {
        json.mounts = [{ destination: '/a/../../etc', type: 'tmpfs', source: 'tmpfs' }];
      },
      /"\.\." is not allowed/,
    ],
    [
      'a bind source that does not exist',
      (json) => {
        json.mounts = [{ destination: '/x', type: 'bind', source: '/nonexistent-source' }];
      },
      /source \/nonexistent-source does not exist/,
    ],
    [
      'a fifo device',
      (json) => {
        json.linux.devices = [{ path: '/dev/fifo', type: 'p' }];
      },
      /fifos are not supported/,
    ],
  ];
  for (const [name, edit, message] of refusals) {
    test(`refused: ${name}`, () => {
      assert.throws(
        () => convert(configJson(edit)),
        (error: Error) => message.test(error.message) && !error.message.includes('\n'),
      );
    });
  }
});
