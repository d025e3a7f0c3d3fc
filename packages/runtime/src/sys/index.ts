// What other tocker packages need to make system calls of their own the runtime's way:
// one koffi (loaded fast), errno turned into SyscallError.
export { koffi } from './koffi.js';
export { SyscallError } from './libc.js';
