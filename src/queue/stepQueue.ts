import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { PgBoss, type Job } from 'pg-boss';

/** The work a step job carries: which step of which run, and the run's trace to put the step's span in. */
export interface StepJobData {
  runId: number;
  platform: string;
  /** W3C trace context of the run's span (`traceparent`, and `tracestate` when set). */
  trace: Record<string, string>;
}

/** A delivery of a step job to this replica: its attempt is the delivery's number (1 for the first). */
export interface StepDelivery {
  data: StepJobData;
  attempt: number;
  /** When the job was queued (the run handed the step out, or the delivery before this one failed). */
  queuedAt: Date;
  /** Aborted when the engine takes the job back from this replica (its heartbeat lapsed, the queue stopped). */
  signal: AbortSignal;
}

/** The two kinds of work a replica has slots for: HTTP steps share the scrape pool, browser steps the browser pool's pages. */
export const WORK_KINDS = ['http', 'browser'] as const;
export type WorkKind = (typeof WORK_KINDS)[number];

export interface StepQueueOptions {
  databaseUrl: string;
  logger: Logger;
  /** Deliveries of a job, at most, beyond the first: a step has STEP_ATTEMPTS attempts, and one more delivery fails it `interrupted`. */
  retryLimit: number;
  /** A job whose replica sent no heartbeat for this long is delivered again (the engine's floor is 10 s). */
  heartbeatSeconds: number;
  /** Connections of the engine's own pool (its LISTEN session comes on top). */
  poolSize?: number;
}

/** Jobs queued (ready or waiting for a retry) and active, per kind of work, as the engine counts them. */
export type QueueDepth = Record<WorkKind, { queued: number; active: number }>;

const queueName = (kind: WorkKind) => `oddswatch-steps-${kind}`;
const SCHEMA = 'pgboss';
/** How often the engine looks for jobs whose heartbeat lapsed (its default is a minute). */
const MONITOR_SECONDS = 5;

/**
 * A step's job id, the same for every send of the step: a run handed out twice (its owner died and another
 * replica took it over) queues each step once. A UUID shaped from a hash of the run and the platform.
 */
export function stepJobId(runId: number, platform: string): string {
  const hex = createHash('sha256').update(`oddswatch-step\u0000${runId}\u0000${platform}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${((parseInt(hex.slice(16, 17), 16) & 0x3) | 0x8).toString(16)}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/**
 * Steps as jobs of pg-boss, on the service's own PostgreSQL (schema `pgboss`, created and migrated by the
 * engine itself at start): one queue per kind of work, a step's job sent once per run, delivered to one
 * replica at a time, woken by LISTEN/NOTIFY, kept by its replica's heartbeat and delivered again when that
 * heartbeat lapses or a survivor hands it back (`handBack`, the replica is dead). The engine's retries are
 * the step's attempts; what a delivery does is the caller's (stepJob.ts).
 */
export class StepQueue {
  private readonly boss: PgBoss;
  private depth: QueueDepth = { http: { queued: 0, active: 0 }, browser: { queued: 0, active: 0 } };
  private depthTimer: NodeJS.Timeout | undefined;
  private readonly takers = new Map<WorkKind, StepTaker>();
  private listening: { close(): Promise<void> } | undefined;

  private constructor(private readonly options: StepQueueOptions) {
    this.boss = new PgBoss({
      connectionString: options.databaseUrl,
      schema: SCHEMA,
      max: options.poolSize ?? 2,
      application_name: 'oddswatch-steps',
      // A job whose replica stopped sending heartbeats is delivered again at the next monitor pass.
      monitorIntervalSeconds: MONITOR_SECONDS,
      persistWarnings: false,
      // Its own spans (one per fetch, idle or not) and instruments would be noise beside ours: the step's span,
      // oddswatch_step_jobs and the queue wait say what an operator needs. Its statements still show as
      // pg.query spans inside a run's trace (the pg instrumentation needs a parent span).
      openTelemetry: { enabled: false },
    });
    this.boss.on('error', (error: unknown) => options.logger.warn({ err: error }, 'step queue engine reported an error'));
    this.boss.on('warning', (warning: unknown) => options.logger.warn({ warning }, 'step queue engine warning'));
  }

  /** Starts the engine (its schema installed or migrated first, under its own lock) and its queues. */
  static async start(options: StepQueueOptions): Promise<StepQueue> {
    const queue = new StepQueue(options);
    await queue.boss.start();
    for (const kind of WORK_KINDS) {
      // A day to run and a day kept once ended: far beyond any run (STALE_AFTER_MS fails a silent one).
      const settings = { retryLimit: options.retryLimit, retryDelay: 0, expireInSeconds: 24 * 3600, deleteAfterSeconds: 24 * 3600, notify: true };
      const existing = await queue.boss.getQueue(queueName(kind));
      // The engine keeps a queue's heartbeat as created.
      if (existing) await queue.boss.updateQueue(queueName(kind), settings);
      else await queue.boss.createQueue(queueName(kind), { ...settings, heartbeatSeconds: options.heartbeatSeconds });
    }
    await queue.listen();
    return queue;
  }

  /**
   * The engine NOTIFYs its channel with the queue's name when jobs are queued: every replica's taker of that
   * queue looks at once (they race for the jobs, which spreads a run's steps); after a reconnect, all look.
   */
  private async listen(): Promise<void> {
    const db = this.boss.getDb();
    if (!db.listen) return;
    const { rows } = await db.executeSql(`select ('pgboss_' || left(encode(sha224('${SCHEMA}'::bytea), 'hex'), 24)) as channel`);
    const channel = (rows[0] as { channel: string }).channel;
    this.listening = await db.listen(
      channel,
      (payload) => {
        for (const [kind, taker] of this.takers) if (queueName(kind) === payload) taker.wake();
      },
      () => {
        for (const taker of this.takers.values()) taker.wake();
      },
    );
  }

  /** Queues one job per step (a step already queued for this run is left as it is). */
  async send(kind: WorkKind, jobs: StepJobData[]): Promise<void> {
    if (jobs.length === 0) return;
    await this.boss.insert(
      queueName(kind),
      jobs.map((data) => ({ id: stepJobId(data.runId, data.platform), data })),
    );
    // This replica looks at once (the others on the NOTIFY, a moment later): the run's owner scrapes a first share of its steps.
    this.takers.get(kind)?.wake();
  }

  /**
   * Takes jobs of `kind`, at most `slots` at once on this replica (StepTaker). A delivery's handler resolves when
   * its step is done (the job completes) and rejects to hand the job back for its next delivery.
   */
  work(kind: WorkKind, slots: number, handler: (delivery: StepDelivery) => Promise<void>): void {
    const taker = new StepTaker(this.boss, queueName(kind), slots, handler, this.options.heartbeatSeconds, this.options.logger);
    this.takers.set(kind, taker);
    taker.start();
  }

  /** Stops taking new jobs on this replica; deliveries under way go on. */
  stopWorking(): void {
    for (const taker of this.takers.values()) taker.stop();
  }

  /**
   * Hands a step's job back for its next delivery now (its replica is dead: no heartbeat will come). Only the
   * delivery of `attempt` is failed: a job delivered again since, queued or ended is left alone.
   */
  async handBack(kind: WorkKind, runId: number, platform: string, attempt: number): Promise<boolean> {
    const job = { id: stepJobId(runId, platform), retryCount: attempt - 1 };
    const result = (await this.boss.fail(queueName(kind), job, { cause: 'its replica is gone' })) as { affected?: number };
    const handedBack = (result.affected ?? 0) > 0;
    if (handedBack) this.takers.get(kind)?.wake();
    return handedBack;
  }

  /** Whether a step's job will never be delivered again: it ended (completed, failed for good, cancelled) or is gone. */
  async jobEnded(kind: WorkKind, runId: number, platform: string): Promise<boolean> {
    const [job] = await this.boss.findJobs(queueName(kind), { id: stepJobId(runId, platform) });
    return !job || job.state === 'completed' || job.state === 'failed' || job.state === 'cancelled';
  }

  /** The last depth read (every few seconds while `observeDepth` runs). */
  get lastDepth(): QueueDepth {
    return this.depth;
  }

  /** Reads the queues' depth every `intervalMs` for the metrics. */
  observeDepth(intervalMs: number): void {
    const read = async () => {
      // Counted from the jobs themselves: the engine's own queue counts are refreshed once a minute.
      const { rows } = await this.boss.getDb().executeSql(
        `select name, state::text as state, count(*)::int as jobs from ${SCHEMA}.job where name = any($1::text[]) and state in ('created', 'retry', 'active') group by 1, 2`,
        [WORK_KINDS.map(queueName)],
      );
      const next: QueueDepth = { http: { queued: 0, active: 0 }, browser: { queued: 0, active: 0 } };
      for (const row of rows as { name: string; state: string; jobs: number }[]) {
        const kind = WORK_KINDS.find((candidate) => queueName(candidate) === row.name);
        if (kind) next[kind][row.state === 'active' ? 'active' : 'queued'] += row.jobs;
      }
      this.depth = next;
    };
    const tick = () => void read().catch((error: unknown) => this.options.logger.debug({ err: error }, 'cannot read the step queues depth'));
    tick();
    this.depthTimer = setInterval(tick, intervalMs);
    this.depthTimer.unref();
  }

  /** Stops the engine (after the run engine let go of its steps: a job still held is delivered again once its heartbeat lapses). */
  async stop(): Promise<void> {
    clearInterval(this.depthTimer);
    this.stopWorking();
    await Promise.all([...this.takers.values()].map((taker) => taker.stopped()));
    await this.listening?.close().catch(() => undefined);
    await this.boss.stop({ graceful: false, close: true });
  }
}

/** How often a replica with a free slot looks for a job when nothing woke it (a job delivered again, a NOTIFY missed). */
const IDLE_POLL_MS = 1_000;
/**
 * Jobs taken per fetch, at most: the sender looks first, every other replica on the NOTIFY a moment later, and
 * they take a run's steps a few at a time, in turn, so the steps spread instead of all going to the first one.
 */
const TAKE_AT_ONCE = 4;
const SETTLE_RETRY_MS = 500;
const SETTLE_BUDGET_MS = 60_000;

/**
 * Takes one queue's jobs on this replica, at most `slots` at once: fetches up to TAKE_AT_ONCE of them while it
 * has free slots, runs each delivery, completes or fails exactly that delivery (a job delivered again since is left alone),
 * and keeps the heartbeat of the jobs it holds. Looks again at once when a slot frees, jobs are queued (the
 * engine's NOTIFY) or handed back here, and every IDLE_POLL_MS otherwise.
 */
class StepTaker {
  private held = 0;
  private running = false;
  /** A wake that came while the loop was fetching: it looks again instead of sleeping. */
  private woken = false;
  private wakeUp: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private readonly holding = new Map<string, { id: string; retryCount: number }>();
  private heartbeat: NodeJS.Timeout | undefined;

  constructor(
    private readonly boss: PgBoss,
    private readonly name: string,
    private readonly slots: number,
    private readonly handler: (delivery: StepDelivery) => Promise<void>,
    private readonly heartbeatSeconds: number,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.running = true;
    this.loop = this.take();
    this.heartbeat = setInterval(() => void this.beat(), (this.heartbeatSeconds * 1000) / 2);
    this.heartbeat.unref();
  }

  wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  stop(): void {
    this.running = false;
    this.wake();
  }

  /** Resolves once no delivery is under way here (the loop has stopped taking). */
  async stopped(): Promise<void> {
    await this.loop;
    while (this.held > 0) await new Promise<void>((resolve) => (this.wakeUp = resolve));
    clearInterval(this.heartbeat);
  }

  private async take(): Promise<void> {
    while (this.running) {
      this.woken = false;
      const free = Math.min(this.slots - this.held, TAKE_AT_ONCE);
      let fetched = 0;
      if (free > 0) {
        try {
          const jobs = await this.boss.fetch<StepJobData>(this.name, { batchSize: free, includeMetadata: true });
          fetched = jobs.length;
          for (const job of jobs) this.deliver(job);
        } catch (error) {
          this.logger.warn({ err: error, queue: this.name }, 'cannot take step jobs; trying again');
        }
      }
      if (!this.running) break;
      if ((fetched > 0 && fetched === free) || (this.woken && this.held < this.slots)) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, IDLE_POLL_MS);
        this.wakeUp = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wakeUp = undefined;
    }
  }

  private deliver(job: Job<StepJobData> & { createdOn?: Date; startAfter?: Date }): void {
    const attempt = { id: job.id, retryCount: job.retryCount };
    this.held += 1;
    this.holding.set(job.id, attempt);
    const controller = new AbortController();
    // A job delivered again keeps its creation time; it was queued again when it became available (startAfter).
    const queuedAt = new Date(Math.max(job.createdOn?.getTime() ?? 0, job.startAfter?.getTime() ?? 0) || Date.now());
    void this.handler({ data: job.data, attempt: job.retryCount + 1, queuedAt, signal: controller.signal })
      .then(
        () => this.settle(job.id, () => this.boss.complete(this.name, attempt)),
        (error: unknown) => this.settle(job.id, () => this.boss.fail(this.name, attempt, { message: error instanceof Error ? error.message : String(error) })),
      )
      .finally(() => {
        this.held -= 1;
        this.holding.delete(job.id);
        this.wake();
      });
  }

  /**
   * Completes or fails a delivery, again and again through a database outage (SETTLE_RETRY_MS apart, for up to
   * SETTLE_BUDGET_MS): a job let go while the database was away is delivered again as soon as it is back.
   * While it retries the job's heartbeat goes on, so no other replica takes it meanwhile.
   */
  private async settle(jobId: string, write: () => Promise<unknown>): Promise<void> {
    const until = Date.now() + SETTLE_BUDGET_MS;
    for (;;) {
      try {
        await write();
        return;
      } catch (error) {
        if (Date.now() >= until) {
          this.holding.delete(jobId);
          this.logger.warn({ err: error, queue: this.name, job_id: jobId }, 'cannot settle a step job; the queue delivers it again once its heartbeat lapses');
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, SETTLE_RETRY_MS));
      }
    }
  }

  private async beat(): Promise<void> {
    if (this.holding.size === 0) return;
    try {
      await this.boss.touch(this.name, [...this.holding.values()]);
    } catch (error) {
      this.logger.warn({ err: error, queue: this.name }, 'cannot send the step jobs heartbeat');
    }
  }
}
