// The warm compiler: `tocker-runtime compiler` keeps one Node process, its code compiled and
// hot, that turns creates and execs into plans, so that they pay about a millisecond of IPC
// instead of a Node start (75 ms here, five times crun's whole create+start+delete).
//
// It never starts a container itself: the container's shim must be a child of the engine's
// own `create` process (its init is reparented to the engine's subreaper when the shim
// leaves), so the C front end (native/warm.c) runs it. One connection per create:
//   front end -> compiler   u32 length, then NUL-separated strings: the caller's working
//                           directory, the command (create or exec), then its arguments
//   compiler -> front end   'P' u32 length, the plan, u32 count, count i32 descriptors of
//                           this process (the front end takes them with pidfd_getfd: it is
//                           root, as this process is), or 'E' u32 length, the error
//   front end -> compiler   the shim's report lines ("pid N", then "ready" (create),
//                           "started" (exec) or "error ..."), then "end"
//   compiler -> front end   'O' u32 0 once the record and pid file are written, or 'E' as
//                           above (a failed create's cgroups and state are gone then)
import { chmodSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import {
  concludeEngineCreate,
  concludeEngineExec,
  encodePlan,
  type PreparedEngineContainer,
  type PreparedPlan,
  parseShimReport,
  prepareExecForEngine,
  prepareForEngine,
  type ShimReport,
  TockerError,
} from '@tocker/runtime';
import { abandonCreate, beginCreate, finishCreate } from './create.js';
import { beginExec, finishExec } from './exec.js';
import type { RuntimeLog } from './log.js';

export const COMPILER_SOCKET = '.compiler.sock';

/** Reads the framed messages of one connection, in order. */
class Frames {
  private buffered = Buffer.alloc(0);
  private wake: (() => void) | null = null;
  private ended = false;

  constructor(socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk]);
      this.wake?.();
    });
    socket.on('end', () => {
      this.ended = true;
      this.wake?.();
    });
    socket.on('error', () => {
      this.ended = true;
      this.wake?.();
    });
  }

  private async until(ready: () => boolean): Promise<void> {
    while (!ready()) {
      if (this.ended) throw new Error('the front end went away');
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
      this.wake = null;
    }
  }

  /** A u32-length-prefixed message. */
  async message(): Promise<Buffer> {
    await this.until(
      () => this.buffered.length >= 4 && this.buffered.length >= 4 + this.buffered.readUInt32LE(0),
    );
    const length = this.buffered.readUInt32LE(0);
    const message = this.buffered.subarray(4, 4 + length);
    this.buffered = this.buffered.subarray(4 + length);
    return message;
  }

  /** Lines up to (not including) "end". */
  async linesUntilEnd(): Promise<string[]> {
    await this.until(() => this.buffered.includes('end\n'));
    const text = this.buffered.toString('utf8');
    const lines = text.slice(0, text.indexOf('end\n')).split('\n').filter(Boolean);
    this.buffered = Buffer.alloc(0);
    return lines;
  }
}

function frame(kind: 'P' | 'E' | 'O', ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  const header = Buffer.alloc(5);
  header.write(kind, 0);
  header.writeUInt32LE(body.length, 1);
  return Buffer.concat([header, body]);
}

function planFrame(prepared: PreparedPlan): Buffer {
  const plan = encodePlan(prepared.steps);
  const planLength = Buffer.alloc(4);
  planLength.writeUInt32LE(plan.length, 0);
  const fds = Buffer.alloc(4 + 4 * prepared.fds.length);
  fds.writeUInt32LE(prepared.fds.length, 0);
  for (const [index, fd] of prepared.fds.entries()) fds.writeInt32LE(fd, 4 + 4 * index);
  return frame('P', planLength, plan, fds);
}

const errorFrame = (error: unknown) =>
  frame(
    'E',
    Buffer.from(error instanceof TockerError ? error.message : String((error as Error).stack)),
  );

/**
 * Prepares a plan and sends it; the shim's reports (the front end ran it) conclude it.
 * On any failure, `abandon` undoes what was made and the error is the verdict.
 */
async function serveRequest(
  socket: Socket,
  frames: Frames,
  prepare: () => PreparedPlan,
  conclude: (report: (...kinds: ShimReport['kind'][]) => ShimReport) => void,
  abandon: () => void,
): Promise<void> {
  let release: () => void = () => undefined;
  try {
    const prepared = prepare();
    release = prepared.release;
    socket.write(planFrame(prepared));
    const reports = (await frames.linesUntilEnd()).map(parseShimReport);
    release();
    conclude(
      (...kinds) => reports.find((report) => kinds.includes(report.kind)) ?? { kind: 'closed' },
    );
    socket.end(frame('O'));
  } catch (error) {
    release();
    abandon();
    socket.end(errorFrame(error));
  }
}

/** One create or exec, from its request to its verdict. */
async function serve(root: string, socket: Socket, frames: Frames): Promise<void> {
  const [cwd = '/', command, ...args] = (await frames.message()).toString('utf8').split('\0');
  try {
    if (command === 'create') {
      const pending = beginCreate(root, args, cwd);
      let prepared: PreparedEngineContainer | null = null;
      await serveRequest(
        socket,
        frames,
        () => {
          prepared = prepareForEngine(pending);
          return prepared;
        },
        (report) => {
          if (prepared === null) throw new Error('no container was prepared');
          finishCreate(
            pending,
            concludeEngineCreate(prepared, report('pid', 'error'), report('ready', 'error')),
          );
        },
        () => abandonCreate(pending),
      );
    } else if (command === 'exec') {
      const pending = beginExec(root, args, cwd);
      await serveRequest(
        socket,
        frames,
        () => prepareExecForEngine(pending.request),
        (report) =>
          finishExec(
            pending,
            concludeEngineExec(report('pid', 'error'), report('started', 'error')),
          ),
        () => undefined,
      );
    } else {
      throw new TockerError(`${command}: not a command of the compiler`);
    }
  } catch (error) {
    socket.end(errorFrame(error));
  }
}

/** Serves creates on `root`'s compiler socket until this process is told to stop. */
export async function serveCompiler(root: string, log: RuntimeLog): Promise<void> {
  const path = join(root, COMPILER_SOCKET);
  rmSync(path, { force: true });
  const server = createServer((socket) => {
    serve(root, socket, new Frames(socket)).catch((error) =>
      log.warning(`compiler: ${(error as Error).message}`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, resolve);
  });
  // Only root may ask for plans (and take their descriptors), whatever the umask made it.
  chmodSync(path, 0o600);
  await new Promise<void>((resolve) => {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => resolve());
  });
  server.close();
  rmSync(path, { force: true });
}
