import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { DEFAULT_IMAGE } from './paths.js';
import { nodeChildProcess } from './sys/builtins.js';

const BUSYBOX = '/bin/busybox';
const MARKER = '.tocker-image';

/**
 * The default image: a root filesystem made of Debian's static busybox, one symlink per
 * applet, and the few files a shell expects. Idempotent: rebuilt only when busybox
 * changed; built beside its final place and renamed in, so it is never half there.
 */
export function prepareDefaultImage(target = DEFAULT_IMAGE): string {
  const busybox = readFileSync(BUSYBOX);
  const version = `${busybox.length}:${nodeChildProcess().execFileSync(BUSYBOX, ['--help']).toString().split('\n')[0]}`;
  if (existsSync(join(target, MARKER)) && readFileSync(join(target, MARKER), 'utf8') === version)
    return target;

  const staging = `${target}.staging-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  for (const dir of [
    'bin',
    'sbin',
    'usr/bin',
    'usr/sbin',
    'etc',
    'proc',
    'sys',
    'dev',
    'root',
    'tmp',
    'var/tmp',
    'run',
    'home',
  ]) {
    mkdirSync(join(staging, dir), { recursive: true });
  }
  chmodSync(join(staging, 'tmp'), 0o1777);
  chmodSync(join(staging, 'var/tmp'), 0o1777);
  chmodSync(join(staging, 'root'), 0o700);
  copyFileSync(BUSYBOX, join(staging, 'bin/busybox'));
  chmodSync(join(staging, 'bin/busybox'), 0o755);
  for (const applet of nodeChildProcess()
    .execFileSync(BUSYBOX, ['--list-full'])
    .toString()
    .split('\n')) {
    const link = join(staging, applet);
    if (applet === '' || applet === 'bin/busybox' || existsSync(link)) continue;
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync('/bin/busybox', link);
  }
  writeFileSync(
    join(staging, 'etc/passwd'),
    'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n',
  );
  writeFileSync(join(staging, 'etc/group'), 'root:x:0:\ntty:x:5:\nnogroup:x:65534:\n');
  writeFileSync(join(staging, 'etc/hosts'), '127.0.0.1\tlocalhost\n::1\tlocalhost\n');
  writeFileSync(join(staging, MARKER), version);

  mkdirSync(dirname(target), { recursive: true });
  rmSync(target, { recursive: true, force: true });
  renameSync(staging, target);
  return target;
}
