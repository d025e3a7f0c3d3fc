export type { ContainerStatus, ContainerTransition } from '@tocker/protocol';
export type { CgroupStats } from './cgroups/index.js';
export type { RootfsPolicy } from './config/configure.js';
export type { ImageRoot, ImageRunConfig } from './config/image.js';
export {
  bundleConfig,
  type OciBundle,
  type OciHook,
  withExecProcess,
} from './config/oci-bundle.js';
export type { RuntimeConfig } from './config/runtime-config.js';
export {
  Container,
  type ContainerIo,
  type CreateOptions,
  type ExitStatus,
} from './container.js';
export {
  concludeEngineCreate,
  concludeEngineExec,
  createForEngine,
  type EngineContainer,
  type EngineCreateRequest,
  type EngineExecRequest,
  execForEngine,
  type PreparedEngineContainer,
  type PreparedPlan,
  prepareExecForEngine,
  prepareForEngine,
} from './engine.js';
export { TockerError } from './errors.js';
export { NetworkStore, reconcileHostNetworks, Subnet } from './network/index.js';
export { DEFAULT_IMAGE, IMAGES_DIR, tockerRoot } from './paths.js';
export { KEPT_TERMINAL_FD } from './plans.js';
export { identify, isAlive, type ProcessIdentity } from './proc.js';
export { openTerminal, type Pty, PtyWriter, resizeTerminal, type TerminalSize } from './pty.js';
export {
  type ExecIo,
  type ExecOptions,
  type ExecProcess,
  Runtime,
  type RuntimeOptions,
} from './runtime.js';
export { SeccompProfiles } from './security/seccomp.js';
export { type ChannelReading, readShimChannelsOn } from './shim/channel.js';
export { encodePlan, type PlanArg, type PlanStep, step } from './shim/plan.js';
export { parseReport as parseShimReport, type ShimReport } from './shim/shim.js';
export { parseSignal } from './signals.js';
export {
  type ContainerLimits,
  type ContainerSpec,
  parseContainerSpec,
  parseLimits,
} from './spec.js';
export { DirectoryLock } from './state/lock.js';
export { type ContainerRecord, type CorruptRecord, viewOf } from './state/record.js';
export type { Discard } from './state/store.js';
export { TRANSITION_LINE_START, type TransitionLog } from './state/transitions.js';
export { makeFifo, SyscallError, setNonBlocking, takeFd } from './sys/libc.js';
export { trace } from './trace.js';
export { type CpuSample, containerUsage } from './usage.js';
export { type Volume, VolumeStore } from './volumes.js';
