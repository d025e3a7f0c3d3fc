import { readFileSync } from 'node:fs';
import { cpus, freemem, hostname, loadavg, release, totalmem } from 'node:os';
import type { AgentInfo } from '@tocker/protocol';
import type { Runtime } from '@tocker/runtime';

/** This package's version (package.json sits one level above both src/ and dist/). */
const version = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  }
).version;

/** MemAvailable from /proc/meminfo (Linux 3.14+), else free memory. */
export function availableMemory(meminfo = readMeminfo()): number {
  const kib = /^MemAvailable:\s+(\d+) kB$/m.exec(meminfo)?.[1];
  return kib === undefined ? freemem() : Number(kib) * 1024;
}

function readMeminfo(): string {
  try {
    return readFileSync('/proc/meminfo', 'utf8');
  } catch {
    return '';
  }
}

/** What `agent:info` replies: the agent, its host, and the runtime's containers. */
export function agentInfo(runtime: Runtime, skippedLogLines: number): AgentInfo {
  const { records: containers, corrupt } = runtime.scan();
  const [one = 0, five = 0, fifteen = 0] = loadavg();
  return {
    version,
    hostname: hostname(),
    kernel: release(),
    cgroupVersion: runtime.cgroups.version,
    cpus: cpus().length,
    memoryTotalBytes: totalmem(),
    memoryAvailableBytes: availableMemory(),
    loadAverage: [one, five, fifteen],
    uptimeSeconds: process.uptime(),
    containersRunning: containers.filter((record) => record.status === 'running').length,
    containersTotal: containers.length,
    containersDamaged: corrupt.length,
    skippedLogLines,
  };
}
