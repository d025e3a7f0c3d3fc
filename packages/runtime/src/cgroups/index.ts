export {
  type DetectOptions,
  detectCgroupDriver,
  findV1Hierarchies,
  findV2Mount,
  type MountinfoEntry,
  type ProcCgroupEntry,
  parseMountinfo,
  parseProcSelfCgroup,
} from './detect.js';
export type {
  CgroupDriver,
  CgroupLimits,
  CgroupStats,
  CgroupUsage,
  ContainerCgroup,
} from './types.js';
export { CgroupV1Driver, type CgroupV1Options, type V1Hierarchy } from './v1.js';
export { CgroupV2Driver, type CgroupV2Options } from './v2.js';
