import { accessSync, constants, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { availableParallelism, totalmem } from 'node:os';
import { delimiter, join } from 'node:path';
import type { Logger } from 'pino';
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from 'playwright-core';
import type { BrowserMetrics, BrowserRestartCause, BrowserStateSource } from '../../telemetry/metrics.js';
import { PlatformError } from '../adapter.js';

/**
 * The replica's browser: one Chromium process, started on first use, shared by every `browser` platform of
 * this process (in-memory state owned by this process alone; another replica has its own). Each step gets
 * a context of its own (no cookies or storage shared between platforms) with one page, at most `maxPages`
 * at once, the rest queued in order. The browser is recycled after `recyclePages` pages or past
 * `maxMemoryBytes`, restarted after a crash, and retired as unresponsive when a context cannot be opened or
 * closed in time: new pages go to a new browser at once, the old one is shut once the pages still open on
 * it end (each is bounded by its step's timeout), so one hostile page never takes the other platforms'
 * pages down with it. A step whose browser crashed or was shut under it fails `browser`; it is not retried on the next one: a page that
 * crashed the browser (one that allocates until it dies) would crash it again and take the other
 * platforms' pages with it, and the next run tries again anyway.
 * Chromium is launched over a pipe: it exits when this process dies, even by SIGKILL (tests/faults).
 */

export interface BrowserPoolOptions {
  /** CHROMIUM_PATH; undefined: `chromium` (or `chromium-browser`) on PATH. */
  executablePath: string | undefined;
  maxPages: number;
  recyclePages: number;
  maxMemoryBytes: number;
  logger: Logger;
}

export interface PageOptions {
  /** Context options of the step (its credentials, kept to their origin by the caller). */
  context?: BrowserContextOptions;
}

/** Longest a context may take to open or to close before its browser is retired as unresponsive. */
const CONTEXT_TIMEOUT_MS = 5_000;
/** How often the browser's memory is sampled while it runs. */
const MEMORY_SAMPLE_MS = 5_000;
/** After a page, memory is read afresh only when the last reading is older than this (pages often end together). */
const AFTER_PAGE_SAMPLE_MS = 1_000;
/** The memory this process may use: its cgroup's limit when set and below the machine's memory. */
function availableMemory(): number {
  const limit = process.constrainedMemory();
  return limit > 0 && limit < totalmem() ? limit : totalmem();
}

/** Budget of a page of a scrape (scripts, DOM, images refused): the default pool's sizing assumes this. */
const MEMORY_PER_PAGE_BYTES = 200 * 1024 ** 2;

/**
 * BROWSER_MAX_PAGES when unset: two pages per core (a scrape's page mostly waits on the network; its
 * rendering takes about a core while it lasts), and no more pages than a quarter of the memory holds at
 * MEMORY_PER_PAGE_BYTES each, at least 1. The memory is the container's limit when there is one (a cgroup's
 * memory.max), else the machine's.
 */
export function defaultMaxPages(cores = availableParallelism(), memoryBytes = availableMemory()): number {
  return Math.max(1, Math.min(2 * cores, Math.floor(memoryBytes / 4 / MEMORY_PER_PAGE_BYTES)));
}

/** The Chromium to drive: `configured`, else the first of chromium, chromium-browser on PATH; undefined when none is there. */
export function findChromium(configured: string | undefined, path = process.env.PATH ?? ''): string | undefined {
  const executable = (file: string) => {
    try {
      accessSync(file, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  };
  if (configured !== undefined) return executable(configured) ? configured : undefined;
  for (const name of ['chromium', 'chromium-browser']) {
    for (const dir of path.split(delimiter).filter(Boolean)) {
      if (executable(join(dir, name))) return join(dir, name);
    }
  }
  return undefined;
}

/** Chromium's switches: no GPU, /dev/shm not relied on (containers give it 64 MB), a renderer's heap bounded. */
const LAUNCH_ARGS = [
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--mute-audio',
  // A page that allocates until it dies dies at this heap size, not at the machine's memory.
  '--js-flags=--max-old-space-size=512',
];

/** Refuses what a scrape never needs from inside the page, before its own scripts run: dialogs and new windows. */
const INIT_SCRIPT = `(() => {
  const refuse = () => undefined;
  for (const name of ['alert', 'confirm', 'prompt', 'print']) Object.defineProperty(window, name, { value: refuse, configurable: false, writable: false });
  Object.defineProperty(window, 'open', { value: () => null, configurable: false, writable: false });
})();`;

interface Launched {
  browser: Browser;
  pages: number;
  inUse: number;
  /** Set once it is to be closed: no new page goes to it. */
  retiring: boolean;
  /** Set when it went away without being asked to. */
  crashed: boolean;
  /** Set once it is being shut: a page still on it fails `browser`, whatever Playwright's error says. */
  shutting: boolean;
}

export class BrowserPool implements BrowserStateSource {
  private launching: Promise<Launched> | undefined;
  private readonly launched = new Set<Launched>();
  private open = 0;
  private readonly queue: (() => void)[] = [];
  private memory: number | null = null;
  private sampling: Promise<void> | undefined;
  private sampledAt = Number.NEGATIVE_INFINITY;
  private sampler: NodeJS.Timeout | undefined;
  private metrics: BrowserMetrics | undefined;
  private closed = false;
  readonly executablePath: string | undefined;

  constructor(private readonly options: BrowserPoolOptions) {
    this.executablePath = findChromium(options.executablePath);
  }

  get maxPages(): number {
    return this.options.maxPages;
  }

  /** Whether a Chromium was found (start-up says so once when browser platforms are configured). */
  get available(): boolean {
    return this.executablePath !== undefined;
  }

  /** The message a step fails with when no Chromium is there. */
  get unavailableMessage(): string {
    return this.options.executablePath === undefined
      ? 'no Chromium on PATH (install chromium, or set CHROMIUM_PATH)'
      : 'no executable Chromium at CHROMIUM_PATH';
  }

  attach(metrics: BrowserMetrics): void {
    this.metrics = metrics;
    metrics.observeBrowser(this);
  }

  pagesOpen(): number {
    return this.open;
  }

  pagesQueued(): number {
    return this.queue.length;
  }

  memoryBytes(): number | null {
    return this.memory;
  }

  /**
   * Runs `use` on a new page in a context of its own, once one of the `maxPages` slots is free. The page
   * refuses dialogs, new windows and downloads. When `signal` aborts (the step's timeout, the run ending)
   * the context is closed, which rejects whatever `use` awaits. A crash of the browser under the page
   * rejects with PlatformError `browser`.
   */
  async withPage<T>(signal: AbortSignal, options: PageOptions, use: (page: Page, context: BrowserContext) => Promise<T>): Promise<T> {
    if (!this.executablePath) throw new PlatformError('browser', this.unavailableMessage);
    await this.acquire(signal);
    try {
      signal.throwIfAborted();
      const launched = await this.current();
      launched.inUse += 1;
      launched.pages += 1;
      const started = performance.now();
      let context: BrowserContext | undefined;
      let outcome: 'completed' | 'failed' = 'failed';
      const closeOnAbort = () => void context?.close().catch(() => undefined);
      try {
        // Opened before the step's signal may close it (a context closed while its page opens can leave
        // newPage pending for good), and bounded: a browser that cannot open a page is unresponsive.
        const page = await this.openPage(launched, options, (created) => (context = created));
        signal.addEventListener('abort', closeOnAbort, { once: true });
        // Refused before they show: a window a page opens is closed at once, a dialog dismissed.
        context!.on('page', (other) => void (other === page ? undefined : other.close().catch(() => undefined)));
        page.on('dialog', (dialog) => void dialog.dismiss().catch(() => undefined));
        if (signal.aborted) throw signal.reason;
        const result = await use(page, context!);
        outcome = 'completed';
        return result;
      } catch (error) {
        if (!(error instanceof PlatformError) && (launched.crashed || launched.shutting || !launched.browser.isConnected())) throw new PlatformError('browser', 'the browser crashed or was closed under this step');
        throw error;
      } finally {
        signal.removeEventListener('abort', closeOnAbort);
        await this.closeContext(launched, context);
        launched.inUse -= 1;
        this.metrics?.browserPageClosed((performance.now() - started) / 1000, outcome);
        await this.afterPage(launched);
      }
    } finally {
      this.release();
    }
  }

  /** Closes every browser; steps still waiting for a page fail. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.sampler);
    this.sampler = undefined;
    for (const waiter of this.queue.splice(0)) waiter();
    const launching = this.launching;
    this.launching = undefined;
    await launching?.catch(() => undefined);
    await Promise.allSettled([...this.launched].map((launched) => this.shut(launched)));
    this.memory = null;
  }

  private acquire(signal: AbortSignal): Promise<void> {
    if (this.closed) return Promise.reject(new PlatformError('browser', 'the service is shutting down'));
    if (this.open < this.options.maxPages) {
      this.open += 1;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const granted = () => {
        signal.removeEventListener('abort', aborted);
        if (this.closed) return reject(new PlatformError('browser', 'the service is shutting down'));
        this.open += 1;
        resolve();
      };
      const aborted = () => {
        const index = this.queue.indexOf(granted);
        if (index >= 0) this.queue.splice(index, 1);
        reject(signal.reason);
      };
      signal.addEventListener('abort', aborted, { once: true });
      this.queue.push(granted);
    });
  }

  private release(): void {
    this.open -= 1;
    this.queue.shift()?.();
  }

  /** The browser new pages go to, launched when there is none (or only retiring ones). */
  private async current(): Promise<Launched> {
    for (const launched of this.launched) if (!launched.retiring && !launched.crashed) return launched;
    this.launching ??= this.launch().finally(() => {
      this.launching = undefined;
    });
    return this.launching;
  }

  private async launch(): Promise<Launched> {
    let browser: Browser;
    try {
      browser = await chromium.launch({
        executablePath: this.executablePath,
        headless: true,
        args: LAUNCH_ARGS,
        // The service handles its own signals and closes the browser as it shuts down.
        handleSIGINT: false,
        handleSIGTERM: false,
        handleSIGHUP: false,
        timeout: 30_000,
      });
    } catch (error) {
      const firstLine = (error instanceof Error ? error.message : String(error)).split('\n')[0]?.slice(0, 200);
      this.options.logger.error({ err: error }, 'the browser could not start');
      throw new PlatformError('browser', `the browser could not start: ${firstLine}`);
    }
    const launched: Launched = { browser, pages: 0, inUse: 0, retiring: false, crashed: false, shutting: false };
    this.launched.add(launched);
    browser.on('disconnected', () => {
      this.launched.delete(launched);
      if (!launched.retiring) {
        launched.crashed = true;
        this.options.logger.error({ pages_in_use: launched.inUse }, 'the browser went away; the next page starts a new one');
        this.metrics?.browserRestarted('crash');
      }
      if (this.launched.size === 0) this.memory = null;
    });
    this.options.logger.info({ version: browser.version(), max_pages: this.options.maxPages }, 'browser started');
    this.sampler ??= setInterval(() => void this.sampleMemory(), MEMORY_SAMPLE_MS).unref();
    void this.sampleMemory();
    return launched;
  }

  /** A new context with its page; past CONTEXT_TIMEOUT_MS the browser is retired as unresponsive and the step fails `browser`. */
  private async openPage(launched: Launched, options: PageOptions, created: (context: BrowserContext) => void): Promise<Page> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.retire(launched, 'unresponsive');
        reject(new PlatformError('browser', `the browser did not open a page within ${CONTEXT_TIMEOUT_MS} ms`));
      }, CONTEXT_TIMEOUT_MS);
    });
    const opening = (async () => {
      const context = await launched.browser.newContext({ ...options.context, acceptDownloads: false, serviceWorkers: 'block', viewport: { width: 1280, height: 900 } });
      created(context);
      await context.addInitScript(INIT_SCRIPT);
      return context.newPage();
    })();
    try {
      return await Promise.race([opening, timedOut]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Closes a step's context; one that will not close in time retires its browser (an overloaded or hung browser). */
  private async closeContext(launched: Launched, context: BrowserContext | undefined): Promise<void> {
    if (!context || launched.crashed) return;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), CONTEXT_TIMEOUT_MS);
    });
    const outcome = await Promise.race([context.close().then(() => 'closed' as const, () => 'closed' as const), timedOut]);
    clearTimeout(timer);
    if (outcome === 'timeout') this.retire(launched, 'unresponsive');
  }

  /** After each page, before its slot is given back: recycle a browser that served its pages or grew past its memory bound. */
  private async afterPage(launched: Launched): Promise<void> {
    if (launched.retiring || launched.crashed) return;
    if (launched.pages >= this.options.recyclePages) return this.retire(launched, 'pages');
    if (this.memory === null || performance.now() - this.sampledAt >= AFTER_PAGE_SAMPLE_MS) await this.sampleMemory();
    if (launched.retiring || launched.crashed) return;
    if (this.memory !== null && this.memory > this.options.maxMemoryBytes) this.retire(launched, 'memory');
  }

  /**
   * No new page goes to `launched`; it is shut once the pages open on it are done. An unresponsive one too:
   * its hung context holds a renderer of its own, and the other steps' pages on it end by their timeouts.
   */
  private retire(launched: Launched, cause: BrowserRestartCause): void {
    if (launched.retiring) return;
    launched.retiring = true;
    this.metrics?.browserRestarted(cause);
    const log = { cause, pages: launched.pages, pages_in_use: launched.inUse };
    if (cause === 'unresponsive') this.options.logger.warn(log, 'browser recycled');
    else this.options.logger.info(log, 'browser recycled');
    if (launched.inUse === 0) void this.shut(launched);
    else void this.whenIdle(launched).then(() => this.shut(launched));
  }

  private async whenIdle(launched: Launched): Promise<void> {
    while (launched.inUse > 0 && this.launched.has(launched)) await new Promise((resolve) => setTimeout(resolve, 100));
  }

  private async shut(launched: Launched): Promise<void> {
    launched.retiring = true;
    launched.shutting = true;
    this.launched.delete(launched);
    await launched.browser.close().catch(() => undefined);
  }

  /**
   * Memory (PSS) of every browser process of this service: Chromium children of this process and their
   * descendants. One reading at a time; read off the event loop (a reading takes ~40 ms of kernel time).
   */
  private sampleMemory(): Promise<void> {
    if (this.launched.size === 0) {
      this.memory = null;
      return Promise.resolve();
    }
    this.sampledAt = performance.now();
    this.sampling ??= browserTreeMemory(process.pid)
      .then((bytes) => {
        this.memory = this.launched.size === 0 ? null : bytes;
      })
      .finally(() => {
        this.sampling = undefined;
      });
    return this.sampling;
  }
}

/**
 * Memory of the Chromium processes under `parent` (the browser and its renderers, zygotes, utilities): the
 * sum of their PSS (proportional set size, /proc/<pid>/smaps_rollup), each shared page counted once across
 * them. Their RSS would count Chromium's shared libraries and shared memory once per process: about 3 times
 * what the tree really holds with one page open. RSS where PSS cannot be read; `measure` 'rss' sums RSS
 * (benches print both).
 */
export async function browserTreeMemory(parent: number, measure: 'pss' | 'rss' = 'pss'): Promise<number | null> {
  const children = new Map<number, number[]>();
  const rss = new Map<number, number>();
  let names: string[];
  try {
    names = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return null;
  }
  for (const name of names) {
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // Fields after the command (which may hold spaces and parentheses): state, ppid, ..., rss (24th field).
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const pid = Number(name);
      const ppid = Number(fields[1]);
      rss.set(pid, Number(fields[21]) * 4096);
      const list = children.get(ppid) ?? [];
      list.push(pid);
      children.set(ppid, list);
    } catch {
      // The process ended while being read.
    }
  }
  const roots = (children.get(parent) ?? []).filter((pid) => {
    try {
      return /chrom/i.test(readlinkSync(`/proc/${pid}/exe`));
    } catch {
      return false;
    }
  });
  if (roots.length === 0) return null;
  const tree: number[] = [];
  const stack = [...roots];
  while (stack.length > 0) {
    const pid = stack.pop()!;
    tree.push(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  const own = measure === 'pss' ? await Promise.all(tree.map(pss)) : [];
  return tree.reduce((total, pid, index) => total + (own[index] ?? rss.get(pid) ?? 0), 0);
}

/** The process's PSS from /proc/<pid>/smaps_rollup, read asynchronously (the kernel walks its page tables). */
async function pss(pid: number): Promise<number | undefined> {
  try {
    const kib = /^Pss:\s+(\d+) kB$/m.exec(await readFile(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1];
    return kib === undefined ? undefined : Number(kib) * 1024;
  } catch {
    return undefined;
  }
}
