import { StringDecoder } from 'node:string_decoder';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type ContainerEvent,
  type ContainerLimitsInput,
  type ContainerSpec,
  type ContainerUsage,
  type ContainerView,
  type CorruptContainer,
  callAgent,
  NoAnswer,
  type Replies,
  type RequestInput,
  type RequestName,
  readEvent,
  type StatsBatch,
  type TerminalExit,
  type TerminalOutput,
  type TerminalSize,
} from '@tocker/protocol';
import { TockerError } from '@tocker/runtime';
import type { Socket } from 'socket.io-client';
import type { Backend } from './backend.js';

/**
 * The CLI talking to an agent (TOCKER_HOST or -H): the same commands, over the agent's
 * socket.io API. The client (and socket.io-client with it) is loaded only here, so local
 * commands never pay for it.
 */
export class AgentClient implements Backend {
  private constructor(private readonly socket: Socket) {}

  static async connect(url: string, token: string | undefined): Promise<AgentClient> {
    if (token === undefined)
      throw new TockerError(`TOCKER_TOKEN is needed to talk to the agent at ${url}`);
    const { openAgent } = await import('@tocker/agent-client');
    try {
      return new AgentClient(await openAgent(url, token));
    } catch (error) {
      throw new TockerError(`cannot reach the agent at ${url}: ${(error as Error).message}`);
    }
  }

  /** A request, typed by the protocol; a refusal or no answer is one clear error. */
  async call<Name extends RequestName>(
    name: Name,
    input: RequestInput<Name>,
  ): Promise<Replies[Name]> {
    try {
      return await callAgent(this.socket, name, input, 120_000);
    } catch (error) {
      throw new TockerError(
        error instanceof NoAnswer ? `the agent did not answer ${name}` : (error as Error).message,
      );
    }
  }

  async list(): Promise<{ records: ContainerView[]; corrupt: CorruptContainer[] }> {
    const reply = await this.call('container:list', { all: true });
    return { records: reply.containers, corrupt: reply.corrupt };
  }

  async inspect(reference: string): Promise<ContainerView> {
    return (await this.call('container:inspect', { container: reference })).container;
  }

  async stop(reference: string, timeoutSeconds: number): Promise<void> {
    await this.call('container:stop', { container: reference, timeoutSeconds });
  }

  async restart(reference: string, timeoutSeconds: number): Promise<void> {
    await this.call('container:restart', { container: reference, timeoutSeconds });
  }

  async kill(reference: string, signal: string): Promise<void> {
    await this.call('container:kill', { container: reference, signal: signal.toUpperCase() });
  }

  async pause(reference: string): Promise<void> {
    await this.call('container:pause', { container: reference });
  }

  async unpause(reference: string): Promise<void> {
    await this.call('container:unpause', { container: reference });
  }

  async remove(reference: string, force: boolean): Promise<void> {
    await this.call('container:remove', { container: reference, force });
  }

  async update(reference: string, limits: ContainerLimitsInput): Promise<void> {
    await this.call('container:update', { container: reference, limits });
  }

  async readLog(reference: string, range: { from?: number; tail?: number }) {
    const reply = await this.call('container:logs', {
      container: reference,
      ...(range.from === undefined
        ? { tailBytes: range.tail ?? 16 * 1024 * 1024 }
        : { fromByte: range.from }),
    });
    return { text: reply.logs, next: reply.nextByte, running: reply.running };
  }

  async stats(): Promise<ContainerUsage[]> {
    const batches: StatsBatch[] = [];
    const onBatch = (batch: StatsBatch) => batches.push(batch);
    this.socket.on('stats', onBatch);
    await this.call('stats:subscribe', {});
    // The first batch has no earlier sample to measure CPU against.
    while (batches.length < 2) await sleep(50);
    await this.call('stats:unsubscribe', {});
    this.socket.off('stats', onBatch);
    return [...(batches[1]?.containers ?? [])];
  }

  async run(spec: ContainerSpec, terminal?: TerminalSize): Promise<ContainerView> {
    return (await this.call('container:run', { spec, ...(terminal ? { terminal } : {}) }))
      .container;
  }

  /** Resolves with the exit status when the agent reports the container's end. */
  exitOf(id: string): Promise<ContainerEvent['exit']> {
    return new Promise((resolve) => {
      const onEvent = (payload: unknown) => {
        const event = readEvent(payload);
        if (event?.kind !== 'exited' || event.container.id !== id) return;
        this.socket.off('event', onEvent);
        resolve(event.exit);
      };
      this.socket.on('event', onEvent);
    });
  }

  /**
   * Connects the user's terminal to a terminal session of the agent: raw keystrokes in,
   * output out (acknowledged as written), window size followed. Resolves with the exit
   * code of the session's process.
   */
  async attach(target: { container: string } | { session: string }): Promise<number | null> {
    // Output can arrive right behind the reply, before the reply's continuation runs:
    // listen first, and keep what comes until the session is known.
    const early: TerminalOutput[] = [];
    const keep = (output: TerminalOutput) => early.push(output);
    this.socket.on('terminal:output', keep);
    let attached: Replies['terminal:attach'];
    try {
      attached = await this.call('terminal:attach', target);
    } finally {
      this.socket.off('terminal:output', keep);
    }
    const { session, scrollback } = attached;
    process.stdout.write(Buffer.from(scrollback));
    const input = process.stdin;
    const wasRaw = input.isTTY ? input.isRaw : false;
    if (input.isTTY) input.setRawMode(true);
    const decoder = new StringDecoder('utf8');
    const onInput = (chunk: Buffer) =>
      this.socket.emit('terminal:input', { session, data: decoder.write(chunk) });
    const onResize = () =>
      void this.call('terminal:resize', {
        session,
        size: { cols: process.stdout.columns, rows: process.stdout.rows },
      });
    const onOutput = ({ session: from, data }: TerminalOutput) => {
      if (from !== session) return;
      process.stdout.write(Buffer.from(data), () =>
        this.socket.emit('terminal:ack', { session, bytes: data.byteLength }),
      );
    };
    for (const output of early) onOutput(output);
    input.on('data', onInput);
    process.stdout.on('resize', onResize);
    this.socket.on('terminal:output', onOutput);
    if (process.stdout.isTTY) onResize();
    const exitCode = await new Promise<number | null>((resolve) => {
      this.socket.on('terminal:exit', ({ session: from, exitCode: code }: TerminalExit) => {
        if (from === session) resolve(code);
      });
      this.socket.once('disconnect', () => resolve(null));
    });
    input.off('data', onInput);
    process.stdout.off('resize', onResize);
    this.socket.off('terminal:output', onOutput);
    if (input.isTTY) input.setRawMode(wasRaw);
    input.pause();
    return exitCode;
  }

  async close(): Promise<void> {
    this.socket.close();
  }
}
