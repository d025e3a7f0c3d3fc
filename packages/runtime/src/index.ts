export type { ContainerStatus, ContainerTransition } from '@tocker/protocol';
export type { CgroupStats } from './cgroups/index.js';
export { Container, type CreateOptions, type ExitStatus } from './container.js';
export type { ContainerStdio } from './container-process.js';
export { TockerError } from './errors.js';
export { keepFd, reclaimFd, releaseFd } from './fd-keeper.js';
export { DEFAULT_IMAGE, tockerRoot } from './paths.js';
export type { ProcessIdentity } from './proc.js';
export { openTerminal, type Pty, PtyWriter, resizeTerminal, type TerminalSize } from './pty.js';
export { type ExecOptions, type ExecProcess, Runtime, type RuntimeOptions } from './runtime.js';
export { parseSignal } from './signals.js';
export {
  type ContainerLimits,
  type ContainerSpec,
  parseContainerSpec,
  parseLimits,
} from './spec.js';
export { DirectoryLock } from './state/lock.js';
export type { ContainerRecord, CorruptRecord } from './state/record.js';
export { type CpuSample, containerUsage } from './usage.js';
