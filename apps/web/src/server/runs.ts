import { Prisma, type PrismaClient, type Run } from '@prisma/client';
import type {
  dashboardRequests,
  RequestedEnd,
  RunDetail,
  RunLimits,
  RunSummary,
} from '@tocker/protocol';
import type { z } from 'zod';

type HistoryQuery = z.output<(typeof dashboardRequests)['history:list']>;

type RunWithAgent = Run & {
  agent: { id: number; name: string };
  limitChanges: { at: Date; limits: string }[];
};

/** What every run query brings along with the run. */
const related = {
  agent: { select: { id: true, name: true } },
  limitChanges: { select: { at: true, limits: true }, orderBy: { seq: 'asc' } },
} as const;

const toNumber = (value: bigint | null) => (value === null ? null : Number(value));
const iso = (date: Date | null) => (date === null ? null : date.toISOString());

interface StoredSpec {
  image?: string;
  rootfs?: string;
  command?: string[];
  limits?: RunLimits;
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
    image: spec.image === undefined ? null : { reference: spec.image, digest: run.imageDigest },
    rootfs: spec.rootfs ?? null,
    limits: spec.limits ?? {},
    limitChanges: run.limitChanges.map((change) => ({
      at: change.at.toISOString(),
      limits: JSON.parse(change.limits) as RunLimits,
    })),
    status: run.status as RunSummary['status'],
    exitCode: run.exitCode,
    signal: run.signal,
    oomKilled: run.oomKilled,
    requestedEnd: (run.requestedEnd as RequestedEnd | null) ?? null,
    memoryPeakBytes: toNumber(run.memoryPeakBytes),
    cpuTimeNs: toNumber(run.cpuTimeNs),
    createdAt: run.createdAt.toISOString(),
    startedAt: iso(run.startedAt),
    finishedAt: iso(run.finishedAt),
    removedAt: iso(run.removedAt),
  };
}

/**
 * The history filter as SQL: Prisma's `contains` hands the search to LIKE as it is, so a
 * "%" or "_" typed by the user would match anything. instr() matches it literally
 * (case-insensitive like LIKE, for ASCII).
 */
function where(query: HistoryQuery): Prisma.Sql {
  const conditions: Prisma.Sql[] = [];
  if (query.agent !== undefined) conditions.push(Prisma.sql`agentId = ${query.agent}`);
  if (query.status !== undefined) conditions.push(Prisma.sql`status = ${query.status}`);
  if (query.oomKilled !== undefined) conditions.push(Prisma.sql`oomKilled = ${query.oomKilled}`);
  if (query.from !== undefined) conditions.push(Prisma.sql`createdAt >= ${new Date(query.from)}`);
  if (query.to !== undefined) conditions.push(Prisma.sql`createdAt < ${new Date(query.to)}`);
  if (query.search !== undefined && query.search !== '') {
    const search = query.search.toLowerCase();
    conditions.push(
      Prisma.sql`(instr(lower(coalesce(name, '')), ${search}) > 0
        OR instr(containerId, ${search}) = 1
        OR instr(lower(coalesce(hostname, '')), ${search}) > 0
        OR instr(lower(coalesce(spec, '')), ${search}) > 0)`,
    );
  }
  return conditions.length === 0
    ? Prisma.empty
    : Prisma.sql`WHERE ${Prisma.join(conditions, ' AND ')}`;
}

/** One page of the history, newest first, and how many runs match in all. */
export async function listRuns(
  prisma: PrismaClient,
  query: HistoryQuery,
): Promise<{ runs: RunSummary[]; total: number }> {
  const filter = where(query);
  return prisma.$transaction(async (transaction) => {
    const [counted] = await transaction.$queryRaw<{ total: bigint }[]>`
      SELECT count(*) AS total FROM Run ${filter}`;
    const page = await transaction.$queryRaw<{ id: number }[]>`
      SELECT id FROM Run ${filter} ORDER BY createdAt DESC, id DESC
      LIMIT ${query.pageSize} OFFSET ${(query.page - 1) * query.pageSize}`;
    const rows = await transaction.run.findMany({
      where: { id: { in: page.map(({ id }) => id) } },
      include: related,
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
    });
    return { runs: rows.map(summary), total: Number(counted?.total ?? 0) };
  });
}

export async function runDetail(prisma: PrismaClient, id: number): Promise<RunDetail> {
  const run = await prisma.run.findUnique({
    where: { id },
    include: related,
  });
  if (run === null) throw new Error(`no run ${id} in the history`);
  return {
    ...summary(run),
    spec: run.spec === null ? null : JSON.parse(run.spec),
    logs: run.logs,
  };
}
