import type { Prisma, PrismaClient, Run } from '@prisma/client';
import type { dashboardRequests, RunDetail, RunSummary } from '@tocker/protocol';
import type { z } from 'zod';

type HistoryQuery = z.output<(typeof dashboardRequests)['history:list']>;

type RunWithAgent = Run & { agent: { id: number; name: string } };

const toNumber = (value: bigint | null) => (value === null ? null : Number(value));
const iso = (date: Date | null) => (date === null ? null : date.toISOString());

interface StoredSpec {
  rootfs?: string;
  command?: string[];
  limits?: RunSummary['limits'];
}

function summary(run: RunWithAgent): RunSummary {
  const spec = (run.spec === null ? {} : JSON.parse(run.spec)) as StoredSpec;
  return {
    id: run.id,
    agent: { id: run.agent.id, name: run.agent.name },
    containerId: run.containerId,
    name: run.name,
    hostname: run.hostname,
    command: spec.command ?? [],
    rootfs: spec.rootfs ?? null,
    limits: spec.limits ?? {},
    status: run.status as RunSummary['status'],
    exitCode: run.exitCode,
    signal: run.signal,
    oomKilled: run.oomKilled,
    memoryPeakBytes: toNumber(run.memoryPeakBytes),
    cpuTimeNs: toNumber(run.cpuTimeNs),
    createdAt: run.createdAt.toISOString(),
    startedAt: iso(run.startedAt),
    finishedAt: iso(run.finishedAt),
    removedAt: iso(run.removedAt),
  };
}

function where(query: HistoryQuery): Prisma.RunWhereInput {
  const search = query.search === undefined || query.search === '' ? undefined : query.search;
  return {
    agentId: query.agent,
    status: query.status,
    oomKilled: query.oomKilled,
    createdAt:
      query.from === undefined && query.to === undefined
        ? undefined
        : {
            gte: query.from === undefined ? undefined : new Date(query.from),
            lt: query.to === undefined ? undefined : new Date(query.to),
          },
    OR:
      search === undefined
        ? undefined
        : [
            { name: { contains: search } },
            { containerId: { startsWith: search.toLowerCase() } },
            { hostname: { contains: search } },
            { spec: { contains: search } },
          ],
  };
}

/** One page of the history, newest first, and how many runs match in all. */
export async function listRuns(
  prisma: PrismaClient,
  query: HistoryQuery,
): Promise<{ runs: RunSummary[]; total: number }> {
  const filter = where(query);
  const [rows, total] = await prisma.$transaction([
    prisma.run.findMany({
      where: filter,
      include: { agent: { select: { id: true, name: true } } },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      skip: (query.page - 1) * query.pageSize,
      take: query.pageSize,
    }),
    prisma.run.count({ where: filter }),
  ]);
  return { runs: rows.map(summary), total };
}

export async function runDetail(prisma: PrismaClient, id: number): Promise<RunDetail> {
  const run = await prisma.run.findUnique({
    where: { id },
    include: { agent: { select: { id: true, name: true } } },
  });
  if (run === null) throw new Error(`no run ${id} in the history`);
  return {
    ...summary(run),
    spec: run.spec === null ? null : JSON.parse(run.spec),
    logs: run.logs,
  };
}
