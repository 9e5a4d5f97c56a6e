import { monitorEventLoopDelay, type ELDHistogram } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';

/** Is the process overloaded right now? Read once per pool tick. */
export interface ProcessHealth {
  start(): void;
  stop(): void;
  /** Why the process is overloaded since the last call, or null when it is healthy. */
  overloaded(): string | null;
}

/** Event-loop delay p90 over the last tick, and heap used against V8's limit (Crawlee's two main signals). */
export function eventLoopAndHeapHealth(maxDelayMs = 50, maxHeapRatio = 0.8): ProcessHealth {
  let histogram: ELDHistogram | undefined;
  return {
    start() {
      histogram ??= monitorEventLoopDelay({ resolution: 10 });
      histogram.enable();
    },
    stop() {
      histogram?.disable();
    },
    overloaded() {
      const delayMs = histogram ? histogram.percentile(90) / 1e6 : 0;
      histogram?.reset();
      if (delayMs > maxDelayMs) return `event-loop delay p90 ${Math.round(delayMs)} ms`;
      const heap = getHeapStatistics();
      if (heap.used_heap_size > maxHeapRatio * heap.heap_size_limit) return `heap ${Math.round((100 * heap.used_heap_size) / heap.heap_size_limit)}% of its limit`;
      return null;
    },
  };
}

export interface ScrapePoolOptions {
  /** Concurrency a burst starts at (default min(ceiling, 16)). */
  initial?: number;
  /** Never shrinks below this (default min(ceiling, 2)). */
  min?: number;
  tickMs?: number;
  health?: ProcessHealth;
  /** Keeps `key` to one task at a time across replicas too (runs/platformLocks.ts); taken before the slot. */
  locks?: { take(key: string, signal?: AbortSignal): Promise<() => Promise<void>> };
}

/**
 * Who may scrape now, for the whole process (every run shares it). An autoscaled pool in the spirit of
 * Crawlee's AutoscaledPool: concurrency starts at `initial`, grows by half every tick while work waits
 * and the process is healthy (event-loop delay, heap), shrinks by a quarter while it is not, and never
 * passes `ceiling` (SCRAPE_CONCURRENCY). An idle pool starts its next burst at `initial` again: what it
 * measured was the last burst's load (a browser step's, say), not the next one's. Per host politeness: one platform is never scraped twice at
 * once (a run's straggler and the next run's scrape wait for each other), on this replica and, with
 * `locks`, across replicas.
 */
export class ScrapePool {
  private desired: number;
  private readonly initial: number;
  private readonly min: number;
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  private readonly busy = new Map<string, Promise<unknown>>();
  private timer: NodeJS.Timeout | undefined;
  private readonly health: ProcessHealth;
  private readonly tickMs: number;
  /** The highest number of scrapes that ran at once (tests, benches). */
  peak = 0;
  /** Tasks handed to `run` and not started yet: waiting for a slot or for their key's previous task. */
  private pending = 0;
  private readonly locks: ScrapePoolOptions['locks'];

  constructor(
    readonly ceiling: number,
    options: ScrapePoolOptions = {},
  ) {
    this.initial = Math.min(ceiling, options.initial ?? 16);
    this.desired = this.initial;
    this.min = Math.min(ceiling, options.min ?? 2);
    this.health = options.health ?? eventLoopAndHeapHealth();
    this.tickMs = options.tickMs ?? 100;
    this.locks = options.locks;
  }

  get concurrency(): number {
    return this.desired;
  }

  /** Tasks running now. */
  get inUse(): number {
    return this.running;
  }

  /** Tasks waiting to start. */
  get waitingCount(): number {
    return this.pending;
  }

  /**
   * Runs `task` for platform `key` once no other scrape of `key` is in flight (here, and on any replica with
   * `locks`) and a slot is free. An aborted `signal` stops waiting for another replica: `task` runs at once
   * and is expected to see the abort.
   */
  async run<T>(key: string, task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const previous = this.busy.get(key);
    this.pending += 1;
    const mine = (async () => {
      let unlock: (() => Promise<void>) | undefined;
      try {
        if (previous) await previous.catch(() => undefined);
        unlock = await this.locks?.take(key, signal);
        await this.acquire();
      } catch (error) {
        await unlock?.();
        throw error;
      } finally {
        this.pending -= 1;
      }
      try {
        return await task();
      } finally {
        this.release();
        await unlock?.();
      }
    })();
    const settled = mine.catch(() => undefined);
    this.busy.set(key, settled);
    void settled.then(() => {
      if (this.busy.get(key) === settled) this.busy.delete(key);
    });
    return mine;
  }

  private acquire(): Promise<void> {
    this.startTicking();
    if (this.running < this.desired) {
      this.running += 1;
      this.peak = Math.max(this.peak, this.running);
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(): void {
    this.running -= 1;
    this.admit();
    if (this.running === 0 && this.waiting.length === 0) this.stopTicking();
  }

  private admit(): void {
    while (this.running < this.desired && this.waiting.length > 0) {
      this.running += 1;
      this.peak = Math.max(this.peak, this.running);
      this.waiting.shift()!();
    }
  }

  private tick(): void {
    const overloaded = this.health.overloaded();
    if (overloaded) this.desired = Math.max(this.min, Math.floor(this.desired * 0.75));
    else if (this.waiting.length > 0) this.desired = Math.min(this.ceiling, Math.ceil(this.desired * 1.5));
    this.admit();
  }

  private startTicking(): void {
    if (this.timer) return;
    this.health.start();
    this.timer = setInterval(() => this.tick(), this.tickMs);
    this.timer.unref();
  }

  private stopTicking(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.health.stop();
    this.desired = Math.max(this.desired, this.initial);
  }
}
