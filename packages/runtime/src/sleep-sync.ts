/** Blocks the calling thread: for the short, bounded waits of synchronous code paths. */
export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
