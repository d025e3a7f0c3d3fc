'use client';
import type { ContainerEvent, ContainerView } from '@tocker/protocol';
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useCallback, useEffect, useState } from 'react';
import { useAgents } from '../agents';
import { dashboard, relay, useRelink } from '../connection';
import { formatDate, formatLimits, shortId } from '../format';
import { StatsSubscriptions } from '../usage';
import { ContainerActions } from './actions';
import { CommandLine } from './command-line';
import { ExecShell } from './exec-shell';
import { LimitsForm } from './limits-form';
import { ContainerLogs } from './logs';
import { NetworkFacts } from './network-facts';
import { RootSource } from './root-source';
import { PrivilegedBadge, StatusBadge, Uptime } from './status';
import { TerminalView } from './terminal';
import { UsageCharts } from './usage-charts';

const TABS = { console: 'Console', shell: 'Shell', logs: 'Logs', stats: 'Stats & limits' } as const;
type Tab = keyof typeof TABS;

function useContainer(agent: number, id: string) {
  const [container, setContainer] = useState<ContainerView | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = useCallback(() => {
    relay(agent, 'container:inspect', { container: id })
      .then((reply) => {
        setContainer(reply.container);
        setError(null);
      })
      .catch((failure: Error) => setError(failure.message));
  }, [agent, id]);
  useEffect(() => {
    load();
    const onEvent = (message: { agent: number; event: ContainerEvent }) => {
      if (message.agent === agent && message.event.container.id.startsWith(id)) load();
    };
    dashboard().on('event', onEvent);
    return () => {
      dashboard().off('event', onEvent);
    };
  }, [agent, id, load]);
  useRelink(agent, load);
  // What a request's reply says it is now: connecting and disconnecting networks are no
  // events of the agent's, so nothing else would show them.
  return { container, error, show: setContainer };
}

export function ContainerDetail({ agent, id }: { agent: number; id: string }) {
  const router = useRouter();
  const { agents } = useAgents();
  const { container, error, show } = useContainer(agent, id);
  const [chosenTab, setTab] = useState<Tab | null>(null);
  const agentSummary = agents?.find((each) => each.id === agent);

  if (container === null) {
    return (
      <section>
        <p>
          <Link prefetch={false} href="/containers">
            ← Containers
          </Link>
        </p>
        {error ? (
          <p role="alert" className="error-text">
            {agentSummary && !agentSummary.online
              ? `The agent ${agentSummary.name} is offline.`
              : error}
          </p>
        ) : (
          <p className="muted">Loading…</p>
        )}
      </section>
    );
  }
  const running = container.status === 'running';
  const limits = container.spec.limits;
  // A console only while there is one to show; otherwise what it printed.
  const tab = chosenTab ?? (container.spec.tty && running ? 'console' : 'logs');
  return (
    <section aria-labelledby="container-title">
      <p>
        <Link prefetch={false} href="/containers">
          ← Containers
        </Link>
      </p>
      <div className="page-head">
        <h1 id="container-title">{container.name ?? shortId(container.id)}</h1>
        <StatusBadge run={container} prefix="exited · " /> <PrivilegedBadge container={container} />
        <ContainerActions
          agent={agent}
          container={container}
          onRemoved={() => router.push('/containers')}
        />
      </div>
      {error && (
        <p role="alert" className="error-text">
          {error}
        </p>
      )}
      <dl className="facts">
        <dt>Id</dt>
        <dd className="mono">{container.id}</dd>
        <dt>Agent</dt>
        <dd>{agentSummary?.name ?? agent}</dd>
        <dt>Image</dt>
        <dd>
          <RootSource image={container.image} rootfs={container.spec.rootfs} />
        </dd>
        <dt>Command</dt>
        <dd>
          <CommandLine command={container.spec.command} entrypoint={container.spec.entrypoint} />
        </dd>
        <dt>Hostname</dt>
        <dd className="mono">{container.hostname}</dd>
        <dt>Network</dt>
        <dd>
          <NetworkFacts
            agent={agent}
            container={container}
            agentUrl={agentSummary?.url ?? null}
            onChange={show}
          />
        </dd>
        <dt>Limits</dt>
        <dd data-testid="limits">{formatLimits(limits)}</dd>
        <dt>Isolation</dt>
        <dd data-testid="isolation">{describeIsolation(container)}</dd>
        <dt>Created</dt>
        <dd>{formatDate(container.createdAt)}</dd>
        <dt>Uptime</dt>
        <dd>{running ? <Uptime since={container.startedAt} /> : '–'}</dd>
      </dl>
      <StatsSubscriptions agents={running ? [agent] : []} />
      <div
        role="tablist"
        aria-label="Container views"
        className="tabs"
        onKeyDown={(event) => {
          // Arrow keys move between tabs, as in any tab list (WAI-ARIA).
          const names = Object.keys(TABS) as Tab[];
          const step = event.key === 'ArrowRight' ? 1 : event.key === 'ArrowLeft' ? -1 : 0;
          if (step === 0) return;
          const next = names[(names.indexOf(tab) + step + names.length) % names.length] ?? tab;
          setTab(next);
          document.getElementById(`tab-${next}`)?.focus();
        }}
      >
        {(Object.keys(TABS) as Tab[]).map((name) => (
          <button
            key={name}
            type="button"
            role="tab"
            id={`tab-${name}`}
            aria-selected={tab === name}
            aria-controls={`panel-${name}`}
            tabIndex={tab === name ? 0 : -1}
            onClick={() => setTab(name)}
          >
            {TABS[name]}
          </button>
        ))}
      </div>
      <div
        role="tabpanel"
        id="panel-console"
        aria-labelledby="tab-console"
        hidden={tab !== 'console'}
      >
        {container.spec.tty ? (
          running ? (
            <TerminalView
              agent={agent}
              target={{ container: container.id }}
              label="Container console"
            />
          ) : (
            <p className="muted">
              The container is not running: restart it to get its console back.
            </p>
          )
        ) : (
          <p className="muted">
            This container has no terminal (launched without tty): see its Logs, or exec a new
            shell.
          </p>
        )}
      </div>
      <div role="tabpanel" id="panel-shell" aria-labelledby="tab-shell" hidden={tab !== 'shell'}>
        <ExecShell
          agent={agent}
          container={container.id}
          running={running}
          paused={container.paused}
        />
      </div>
      <div role="tabpanel" id="panel-logs" aria-labelledby="tab-logs" hidden={tab !== 'logs'}>
        {tab === 'logs' && (
          <ContainerLogs
            agent={agent}
            container={container.id}
            running={running}
            tty={container.spec.tty}
          />
        )}
      </div>
      <div role="tabpanel" id="panel-stats" aria-labelledby="tab-stats" hidden={tab !== 'stats'}>
        {running ? (
          <UsageCharts agent={agent} container={container.id} />
        ) : (
          <p className="muted">Not running.</p>
        )}
        <h2>Limits</h2>
        <LimitsForm key={container.id} agent={agent} container={container} />
      </div>
    </section>
  );
}

/** What a container gave up or added to docker's defaults, in a line. */
function describeIsolation({ spec, userNamespace }: ContainerView): string {
  if (spec.privileged) return 'privileged: every capability and device, no seccomp filter';
  const root = userNamespace?.uidMappings.find((mapping) => mapping.containerID === 0);
  const changes = [...spec.capAdd.map((cap) => `+${cap}`), ...spec.capDrop.map((cap) => `-${cap}`)];
  return [
    changes.length === 0 ? "docker's default capabilities" : `capabilities ${changes.join(' ')}`,
    spec.seccomp === 'default'
      ? "docker's seccomp profile"
      : spec.seccomp === 'unconfined'
        ? 'no seccomp filter'
        : 'a custom seccomp profile',
    ...(spec.noNewPrivileges ? ['no new privileges'] : []),
    ...(root === undefined
      ? []
      : [`own user namespace: root is host uid ${root.hostID} (${root.size} ids)`]),
  ].join(' · ');
}
