import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { Agent, removeEverything } from '../apps/agent/test/helpers.js';
import { Dashboard } from '../apps/web/test/helpers.js';
import { scratchDir } from '../packages/runtime/test/scratch.js';
import { CHROMIUM, CHROMIUM_ARGS } from './chromium.js';

/** Kept after the run (CI artifacts): one screenshot per step. */
export const ARTIFACTS = join(dirname(fileURLToPath(import.meta.url)), 'artifacts');

/**
 * The whole product for a browser test: a real agent (random loopback port, its own
 * state root and cgroup parent), a real dashboard server with a fresh SQLite file, and
 * Debian's chromium. `close` removes every container, process and temporary file.
 */
export class Stack {
  agent!: Agent;
  dashboard!: Dashboard;
  browser!: Browser;
  /** What the browser reported refusing under the pages' Content-Security-Policy. */
  readonly policyViolations: string[] = [];
  /** What pages asked the dashboard for and did not get (404s: a missing icon...). */
  readonly missing: string[] = [];
  private readonly dir = scratchDir('e2e');
  private readonly tmpBefore = new Set(readdirSync(tmpdir()));

  constructor(
    private readonly options: {
      /** The agent's command line options (e.g. --engine-root). */
      agentOptions?: readonly string[];
      /** Another build's dashboard server (an A/B benchmark); this tree's by default. */
      dashboardMain?: string;
      /** More chromium flags (a benchmark's variant). */
      chromiumArgs?: readonly string[];
    } = {},
  ) {}

  async start(): Promise<this> {
    mkdirSync(ARTIFACTS, { recursive: true });
    this.agent = await new Agent('127.0.0.1:0', this.options.agentOptions).started();
    this.dashboard = await new Dashboard(
      this.dir,
      this.agent.url,
      this.options.dashboardMain,
    ).started();
    this.browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [...CHROMIUM_ARGS, ...(this.options.chromiumArgs ?? [])],
    });
    return this;
  }

  /** Stops the agent and starts a new one on the same address (its containers are adopted). */
  async restartAgent(whileAway: () => Promise<void>): Promise<void> {
    const address = new URL(this.agent.url).host;
    await this.agent.stop();
    await whileAway();
    this.agent = await new Agent(address, this.options.agentOptions).started();
  }

  /** A browser context whose pages report what the policy refused and what was missing. */
  async newContext(width = 1280, height = 800): Promise<BrowserContext> {
    const context = await this.browser.newContext({ viewport: { width, height } });
    context.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text()))
        this.policyViolations.push(message.text());
    });
    context.on('response', (response) => {
      if (response.status() === 404) this.missing.push(response.url());
    });
    return context;
  }

  /** A signed-in page (the sign-in form itself is tested separately). */
  async signedInPage(width = 1280, height = 800): Promise<Page> {
    const context = await this.newContext(width, height);
    const { cookie } = await this.dashboard.signIn();
    const [name, value] = (cookie ?? '').split('=');
    await context.addCookies([
      {
        name: name ?? '',
        value: value ?? '',
        url: this.dashboard.url,
        httpOnly: true,
        sameSite: 'Strict',
      },
    ]);
    return context.newPage();
  }

  async close(): Promise<void> {
    await this.browser?.close();
    await this.dashboard?.stop();
    await this.agent?.stop();
    await removeEverything();
    rmSync(this.dir, { recursive: true, force: true });
    // Playwright's own profile and artifact directories.
    for (const entry of readdirSync(tmpdir())) {
      if (!this.tmpBefore.has(entry) && entry.startsWith('playwright'))
        rmSync(join(tmpdir(), entry), { recursive: true, force: true });
    }
  }
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/** What the xterm.js terminal on the page shows (its DOM rows). */
export async function terminalText(
  page: Page,
  scope = page.locator('[role="tabpanel"]:not([hidden])'),
): Promise<string> {
  // biome-ignore lint/performance/useDomNodeTextContent: the rows' line breaks come from layout
  return scope.locator('.xterm-rows').innerText();
}

/** Whether the page is wider than its window (it scrolls sideways). */
export const overflowsSideways = (tab: Page) =>
  tab.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
