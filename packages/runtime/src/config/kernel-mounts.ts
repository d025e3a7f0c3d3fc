import { MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_RDONLY } from '../sys/libc.js';
import type { RuntimeMount } from './runtime-config.js';

const KERNEL_FILES = MS_NOSUID | MS_NODEV | MS_NOEXEC;

function filesystem(
  type: string,
  source: string,
  target: string,
  flags: number,
  data: string | null,
): RuntimeMount {
  return { kind: 'filesystem', type, source, target, flags, data, propagation: 0 };
}

/**
 * The kernel filesystems every tocker container gets before its own mounts, as docker
 * and `runc spec` give them: its /proc, a /dev of its own (the runtime fills it with the
 * standard nodes), a new devpts instance, shm, mqueue and /sys (read-only unless
 * privileged). OCI bundles list their own instead.
 */
export function defaultKernelMounts(readonlySysfs: boolean): RuntimeMount[] {
  return [
    filesystem('proc', 'proc', '/proc', KERNEL_FILES, null),
    filesystem('tmpfs', 'tmpfs', '/dev', MS_NOSUID, 'mode=755,size=65536k'),
    filesystem(
      'devpts',
      'devpts',
      '/dev/pts',
      MS_NOSUID | MS_NOEXEC,
      'newinstance,ptmxmode=0666,mode=0620,gid=5',
    ),
    filesystem('tmpfs', 'shm', '/dev/shm', KERNEL_FILES, 'mode=1777,size=65536k'),
    filesystem('mqueue', 'mqueue', '/dev/mqueue', KERNEL_FILES, null),
    filesystem('sysfs', 'sysfs', '/sys', KERNEL_FILES | (readonlySysfs ? MS_RDONLY : 0), null),
  ];
}
