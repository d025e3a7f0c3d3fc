import type { Prisma, PrismaClient } from '@prisma/client';
import type { ContainerEvent } from '@tocker/protocol';

type Transaction = Prisma.TransactionClient;

/**
 * Records a batch of an agent's journal events. Events at or below the agent's cursor are
 * skipped, and the rows and the new cursor are written in one transaction: replaying a
 * batch, or a dashboard that stops half-way, never records anything twice or loses it.
 * Returns the new cursor.
 */
export async function recordEvents(
  prisma: PrismaClient,
  agentId: number,
  events: readonly ContainerEvent[],
): Promise<number> {
  return prisma.$transaction(async (tx) => {
    const agent = await tx.agent.findUniqueOrThrow({ where: { id: agentId } });
    let cursor = agent.lastSeq;
    for (const event of events) {
      if (event.seq <= cursor) continue;
      await apply(tx, agentId, event);
      cursor = event.seq;
    }
    if (cursor !== agent.lastSeq)
      await tx.agent.update({ where: { id: agentId }, data: { lastSeq: cursor } });
    return cursor;
  });
}

/**
 * Follows an agent's journal from the recorded cursor to its end, batch by batch.
 * `since` asks the agent (events:since).
 */
export async function catchUp(
  prisma: PrismaClient,
  agentId: number,
  since: (cursor: number) => Promise<readonly ContainerEvent[]>,
): Promise<number> {
  let cursor = (await prisma.agent.findUniqueOrThrow({ where: { id: agentId } })).lastSeq;
  for (;;) {
    const events = await since(cursor);
    if (events.length === 0) return cursor;
    cursor = await recordEvents(prisma, agentId, events);
  }
}

async function apply(tx: Transaction, agentId: number, event: ContainerEvent): Promise<void> {
  const at = new Date(event.at);
  const key = { agentId_containerId: { agentId, containerId: event.container.id } };
  // A run first seen after its 'created' (the journal began later) is recorded all the same.
  const base = {
    agentId,
    containerId: event.container.id,
    name: event.container.name,
    status: 'created',
    createdAt: at,
  };
  const upsert = (
    data: Prisma.RunUncheckedUpdateInput,
    create: Partial<Prisma.RunUncheckedCreateInput> = {},
  ) =>
    tx.run.upsert({
      where: key,
      update: data,
      create: { ...base, ...create, ...(data as object) } as Prisma.RunUncheckedCreateInput,
    });

  switch (event.kind) {
    case 'created':
      await upsert(
        {
          name: event.container.name,
          hostname: event.hostname ?? null,
          spec: event.spec === undefined ? null : JSON.stringify(event.spec),
          imageDigest: event.image?.digest ?? null,
        },
        { createdAt: at },
      );
      return;
    case 'started':
      await upsert({
        status: 'running',
        startedAt: at,
        finishedAt: null,
        exitCode: null,
        signal: null,
        oomKilled: false,
        requestedEnd: null,
        logs: null, // a restarted run's output is kept again when it ends
      });
      return;
    case 'exited':
      await upsert({
        status: 'exited',
        finishedAt: at,
        exitCode: event.exit?.exitCode ?? null,
        signal: event.exit?.signal ?? null,
        oomKilled: event.exit?.oomKilled ?? false,
        requestedEnd: event.exit?.requestedEnd ?? null,
        memoryPeakBytes:
          event.exit?.memoryPeakBytes === null || event.exit?.memoryPeakBytes === undefined
            ? null
            : BigInt(event.exit.memoryPeakBytes),
        cpuTimeNs:
          event.exit?.cpuTimeNs === null || event.exit?.cpuTimeNs === undefined
            ? null
            : BigInt(Math.round(event.exit.cpuTimeNs)),
      });
      return;
    case 'removed':
      await upsert({ removedAt: at });
      return;
    case 'limits-updated': {
      // The spec keeps the limits it started with; each change is a row of its own.
      if (event.limits === undefined) return;
      const run = await upsert({});
      const change = { runId: run.id, seq: event.seq, at, limits: JSON.stringify(event.limits) };
      await tx.limitChange.upsert({
        where: { runId_seq: { runId: run.id, seq: event.seq } },
        update: {},
        create: change,
      });
      return;
    }
  }
}

/** Runs of an agent that ended and whose output the dashboard has not kept yet. */
export function runsWithoutLogs(
  prisma: PrismaClient,
  agentId: number,
): Promise<{ id: number; containerId: string }[]> {
  return prisma.run.findMany({
    where: { agentId, status: 'exited', logs: null },
    select: { id: true, containerId: true },
    orderBy: { id: 'asc' },
    take: 50,
  });
}

export async function keepLogs(prisma: PrismaClient, runId: number, logs: string): Promise<void> {
  await prisma.run.update({ where: { id: runId }, data: { logs } });
}
