// A record written by an older tocker is read back as the configuration it meant: the
// kernel filesystems it had fixed become the first entries of its mounts list, and the
// fields added since take the values that kept its behaviour.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { defaultKernelMounts } from '../src/config/kernel-mounts.js';
import { runtimeConfigSchema } from '../src/config/runtime-config.js';
import { MS_RDONLY } from '../src/sys/libc.js';

/** A configuration as session 6's tocker wrote it: no kernel mounts listed, /sys by a flag. */
function olderRecord(readonlySysfs: boolean) {
  return {
    ociVersion: '1.2.0',
    root: { layers: ['/var/lib/tocker/images/busybox'], image: null, readonly: false },
    mounts: [
      { kind: 'bind', source: '/srv/data', target: '/data', readOnly: true, volume: null },
      { kind: 'tmpfs', target: '/run', size: null, mode: null },
    ],
    hostname: null,
    network: { mode: 'none' },
    process: {
      terminal: false,
      args: ['sh'],
      env: ['PATH=/bin'],
      cwd: '/',
      user: { uid: 0, gid: 0, additionalGids: [] },
      capabilities: { bounding: [], effective: [], permitted: [], inheritable: [], ambient: [] },
      noNewPrivileges: false,
      rlimits: [],
      oomScoreAdj: 0,
    },
    linux: {
      resources: { limits: {}, devices: [] },
      devices: [],
      seccomp: null,
      maskedPaths: ['/proc/kcore'],
      readonlyPaths: ['/proc/sys'],
      sysctl: {},
      namespaces: { pid: 'own' },
      readonlySysfs,
    },
    request: { rootfs: '/var/lib/tocker/images/busybox', command: ['sh'] },
  };
}

describe('records of an older tocker read back', () => {
  for (const readonlySysfs of [true, false]) {
    test(`the fixed kernel filesystems become the first mounts (/sys ${readonlySysfs ? 'read-only' : 'writable'}), the new fields keep the old behaviour`, () => {
      const config = runtimeConfigSchema.parse(olderRecord(readonlySysfs));
      assert.deepEqual(config.mounts.slice(0, 6), defaultKernelMounts(readonlySysfs));
      const sys = config.mounts.find((mount) => mount.target === '/sys');
      assert.equal(sys?.kind === 'filesystem' && (sys.flags & MS_RDONLY) !== 0, readonlySysfs);
      assert.deepEqual(config.mounts[6], {
        kind: 'bind',
        source: '/srv/data',
        target: '/data',
        readOnly: true,
        volume: null,
        recursive: false,
        flags: 0,
        propagation: 0,
      });
      assert.equal(config.mounts[7]?.kind, 'tmpfs');
      assert.equal(config.root.inPlace, false);
      assert.equal(config.domainname, null);
      assert.deepEqual(config.linux.namespaces, {
        pid: 'own',
        ipc: 'own',
        uts: 'own',
        cgroup: 'own',
        user: 'host',
      });
      assert.deepEqual(config.linux.uidMappings, []);
      assert.equal('readonlySysfs' in config.linux, false);
    });
  }

  test('a record written today is read back unchanged (no second set of kernel mounts)', () => {
    const today = runtimeConfigSchema.parse(olderRecord(true));
    const again = runtimeConfigSchema.parse(JSON.parse(JSON.stringify(today)));
    assert.deepEqual(again, today);
  });
});
