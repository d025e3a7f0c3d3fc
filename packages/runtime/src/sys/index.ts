// System calls other tocker packages make the runtime's way: the *at() family that never
// follows a path out of a directory (layers, archives), errno as SyscallError.
export * from './fs-at.js';
export { SyscallError } from './libc.js';
