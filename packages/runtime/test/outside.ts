import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const PROGRAM = join(fileURLToPath(new URL('.', import.meta.url)), 'outside-host.ts');

/** A /30 of 198.18.0.0/15 (RFC 2544's test range) that no route of the host has. */
function freeTestSubnet(): number {
  const routes = readFileSync('/proc/net/route', 'utf8');
  for (let third = process.pid % 200; third < 256; third++) {
    const hex = Buffer.from([198, 18, third, 0]).readUInt32LE(0).toString(16).toUpperCase();
    if (!routes.includes(hex.padStart(8, '0'))) return third;
  }
  throw new Error('no free 198.18.x.0/30 for the outside host');
}

/**
 * "The outside world" for containers: a network namespace of the test's own, joined to the
 * host by a veth pair (the host routes to it as to any network it reaches), with an HTTP
 * server that answers each request with the address it came from and a DNS server that
 * plays the host's upstream resolver (outside-host.ts). Nothing leaves the
 * machine. The server dies with the test process (pdeathsig), and the namespace and the
 * veth pair with it.
 */
export class OutsideHost {
  private constructor(
    private readonly server: ChildProcess,
    /** The host's end of the pair. */
    readonly device: string,
    /** The host's address on the link: what a masqueraded container is seen as. */
    readonly hostAddress: string,
    /** The outside host's own address. */
    readonly address: string,
    readonly port: number,
    /** Every name its DNS server (port 53) was asked, in order. */
    readonly asked: readonly string[],
  ) {}

  /** The one name its DNS server knows: its own address. */
  static readonly NAME = 'outside.test';

  static async start(port = 8080): Promise<OutsideHost> {
    const third = freeTestSubnet();
    const device = `tw${process.pid}`;
    const [hostAddress, address] = [1, 2].map((last) => `198.18.${third}.${last}`) as [
      string,
      string,
    ];
    const server = spawn(
      'setpriv',
      [
        '--pdeathsig',
        'KILL',
        'unshare',
        '-n',
        process.execPath,
        '--import',
        'tsx',
        PROGRAM,
        String(port),
        JSON.stringify({ [OutsideHost.NAME]: address }),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const asked: string[] = [];
    const lines = createInterface({ input: server.stdout as NodeJS.ReadableStream });
    const listening = new Promise<void>((resolve) =>
      lines.on('line', (line) => {
        if (line === 'listening') resolve();
        else if (line.startsWith('asked ')) asked.push(line.slice('asked '.length));
      }),
    );
    await Promise.race([listening, once(server, 'exit')]);
    if (server.exitCode !== null || server.signalCode !== null)
      throw new Error('the outside host did not start');
    const pid = String(server.pid);
    execFileSync('ip', [
      'link',
      'add',
      device,
      'type',
      'veth',
      'peer',
      'name',
      'eth0',
      'netns',
      pid,
    ]);
    execFileSync('ip', ['addr', 'add', `${hostAddress}/30`, 'dev', device]);
    execFileSync('ip', ['link', 'set', device, 'up']);
    const inside = (...args: string[]) =>
      execFileSync('nsenter', [`--net=/proc/${pid}/ns/net`, 'ip', ...args]);
    inside('link', 'set', 'lo', 'up');
    inside('addr', 'add', `${address}/30`, 'dev', 'eth0');
    inside('link', 'set', 'eth0', 'up');
    inside('route', 'add', 'default', 'via', hostAddress);
    return new OutsideHost(server, device, hostAddress, address, port, asked);
  }

  /** A command of the host's run in the outside host's network namespace (another host's client). */
  exec(command: readonly string[]): string {
    return execFileSync('nsenter', [`--net=/proc/${this.server.pid}/ns/net`, ...command], {
      encoding: 'utf8',
      timeout: 10_000,
    });
  }

  get url(): string {
    return `http://${this.address}:${this.port}/`;
  }

  async stop(): Promise<void> {
    if (this.server.exitCode === null && this.server.signalCode === null) {
      this.server.kill('SIGKILL');
      await once(this.server, 'exit');
    }
    // The pair goes with the namespace, a moment after its last process.
    for (let attempt = 0; attempt < 100 && existsSync(`/sys/class/net/${this.device}`); attempt++)
      await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
