import type { AgentSummary, ContainerView } from '@tocker/protocol';

/**
 * What the server puts in a page's HTML, so the page shows its content before its socket
 * to the gateway connects. Next renders the pages in this process but from its own bundle,
 * so the custom server (main.ts) hands its state over through a global, not a module.
 * The pages reaching it are behind the sign-in gate (http.ts) like everything else, and it
 * holds nothing the gateway would not send the browser (agents are summaries: no tokens).
 */

/** The containers page before the socket: the agents, and what their links know. */
export interface ContainersFirstView {
  readonly agents: readonly AgentSummary[];
  /** The online agents that answered in time; the page asks the others itself. */
  readonly containers: readonly { agent: number; containers: readonly ContainerView[] }[];
}

export interface PageData {
  containersView(): Promise<ContainersFirstView>;
}

/** The part of the agent registry the first view reads. */
export interface AgentLists {
  list(): Promise<AgentSummary[]>;
  containers(agent: number): Promise<readonly ContainerView[]>;
}

/** An agent slower than this is left to the browser: the page is not held for it. */
const FIRST_VIEW_WAIT_MS = 500;

const KEY = Symbol.for('tocker.dashboard.page-data');

type Holder = { [KEY]?: PageData };

export function providePageData(registry: AgentLists): void {
  (globalThis as Holder)[KEY] = { containersView: () => containersView(registry) };
}

/** Null when the pages run without the dashboard's server (they then load everything). */
export function pageData(): PageData | null {
  return (globalThis as Holder)[KEY] ?? null;
}

async function containersView(registry: AgentLists): Promise<ContainersFirstView> {
  const agents = await registry.list();
  const answers = await Promise.all(
    agents
      .filter((agent) => agent.online)
      .map(async (agent) => {
        const containers = await inTime(registry.containers(agent.id));
        return containers === null ? [] : [{ agent: agent.id, containers }];
      }),
  );
  return { agents, containers: answers.flat() };
}

/** The value, or null if it fails or takes longer than FIRST_VIEW_WAIT_MS. */
async function inTime<T>(value: Promise<T>): Promise<T | null> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), FIRST_VIEW_WAIT_MS);
  });
  try {
    return await Promise.race([value.catch(() => null), late]);
  } finally {
    clearTimeout(timer);
  }
}
