import { Cron } from 'croner';
import type { Logger } from 'pino';
import type { Orm } from '../db/database.js';
import { selectJobSettings, upsertJobSettings, upsertJobTimes } from '../db/tables/schedulerJobs.js';
import { AppError } from '../errors.js';
import { JOB_IDS, type JobId, type SchedulerJob, type SchedulerState } from '../shared/contract.js';
import type { JobDefinition, JobOrigin, JobOutcome } from './jobs.js';

interface JobState {
  definition: JobDefinition;
  intervalSeconds: number;
  /** Set through the API; null means the configured default. */
  intervalOverride: number | null;
  paused: boolean;
  lastRunAt: Date | null;
  nextRunAt: Date | null;
  timer: Cron | null;
  ticking: boolean;
}

/**
 * Runs the job table (jobs.ts) by id, each on its own interval, on the leader replica only
 * (`lead(true)`, see src/replicas/leadership.ts); every replica serves the state. Operator changes
 * (interval, pause) and each job's last and next run are stored in the database first, then applied
 * in memory (a change that cannot be stored changes nothing), and announced through `onChange` (the
 * global event stream). Every replica reloads the stored state when it sees `scheduler.changed`
 * (`reload`); the leader then re-arms the jobs whose settings changed elsewhere. The timers are croner
 * one-shot jobs re-armed after each tick.
 */
export class Scheduler {
  private readonly jobs = new Map<JobId, JobState>();
  private enabled = false;
  private leading = false;

  constructor(
    private readonly orm: Orm,
    definitions: JobDefinition[],
    private readonly logger: Logger,
    private readonly onChange: (state: SchedulerState) => Promise<void>,
    private readonly onTickSkipped: (job: JobId) => void,
  ) {
    for (const definition of definitions) {
      this.jobs.set(definition.id, {
        definition,
        intervalSeconds: definition.defaultIntervalSeconds,
        intervalOverride: null,
        paused: false,
        lastRunAt: null,
        nextRunAt: null,
        timer: null,
        ticking: false,
      });
    }
  }

  /** Loads the stored settings; `enabled` false (SCHEDULER_ENABLED=false): never arms, even as leader. */
  async start(enabled = true): Promise<void> {
    this.enabled = enabled;
    await this.load();
  }

  /** Becomes (true) or stops being (false) the replica whose timers tick the jobs. */
  async lead(leading: boolean): Promise<void> {
    this.leading = leading;
    if (!leading) {
      this.disarm();
      return;
    }
    if (!this.enabled) return;
    await this.load().catch((error: unknown) => this.logger.error({ err: error }, 'cannot load the scheduler state; arming from memory'));
    for (const job of this.jobs.values()) {
      const next = this.dueAt(job);
      await this.saveTimes(job, next).catch((error: unknown) => this.logger.error({ err: error }, 'cannot store the next run'));
      this.arm(job, next);
    }
    await this.changed();
  }

  /** Reads the stored state again (another replica changed it); the leader re-arms what changed. */
  async reload(): Promise<void> {
    const before = new Map([...this.jobs].map(([id, job]) => [id, `${job.intervalSeconds}/${job.paused}`]));
    await this.load();
    if (!this.armed) return;
    let rearmed = false;
    for (const [id, job] of this.jobs) {
      if (before.get(id) === `${job.intervalSeconds}/${job.paused}` && (job.timer || job.paused || job.ticking)) continue;
      const next = this.dueAt(job);
      await this.saveTimes(job, next);
      this.arm(job, next);
      rearmed = true;
    }
    if (rearmed) await this.changed();
  }

  stop(): void {
    this.enabled = false;
    this.disarm();
  }

  state(): SchedulerState {
    const jobs: SchedulerJob[] = [...this.jobs.values()].map((job) => ({
      id: job.definition.id,
      description: job.definition.description,
      intervalSeconds: job.intervalSeconds,
      nextRunAt: job.nextRunAt?.toISOString() ?? null,
      lastRunAt: job.lastRunAt?.toISOString() ?? null,
      paused: job.paused,
    }));
    return { paused: jobs.some((job) => job.paused), jobs };
  }

  job(id: string): SchedulerJob {
    const known = this.stateOf(id).definition.id;
    return this.state().jobs.find((job) => job.id === known)!;
  }

  /** A job's current interval: the stored override (PATCH, kept across restarts and replicas) or its default. */
  intervalSeconds(id: JobId): number {
    return this.stateOf(id).intervalSeconds;
  }

  nextRunSeconds(id: JobId): number | null {
    const next = this.jobs.get(id)?.nextRunAt;
    return next ? next.getTime() / 1000 : null;
  }

  isPaused(): boolean {
    return [...this.jobs.values()].some((job) => job.paused);
  }

  async setPaused(paused: boolean): Promise<SchedulerState> {
    for (const job of this.jobs.values()) {
      if (!job.definition.pausable || job.paused === paused) continue;
      await this.change(job, { paused });
      this.logger.info({ job: job.definition.id, paused }, paused ? 'scheduler paused' : 'scheduler resumed');
    }
    await this.changed();
    return this.state();
  }

  async setInterval(id: string, intervalSeconds: number): Promise<SchedulerJob> {
    const job = this.stateOf(id);
    const before = job.intervalSeconds;
    await this.change(job, { intervalSeconds, intervalOverride: intervalSeconds });
    this.logger.info({ job: id, interval_seconds: intervalSeconds, previous_interval_seconds: before }, 'job interval changed');
    await this.changed();
    return this.job(id);
  }

  /** Stores the changed job first; only once stored does memory (and the timer) change. */
  private async change(job: JobState, patch: Partial<Pick<JobState, 'paused' | 'intervalSeconds' | 'intervalOverride'>>): Promise<void> {
    const changed = { ...job, ...patch };
    // A follower does not arm: the leader re-arms on scheduler.changed and stores the next run then.
    const next = this.armed ? this.dueAt(changed) : changed.paused ? null : job.nextRunAt;
    await this.save(changed, { nextRunAt: next });
    Object.assign(job, patch);
    if (this.armed) this.arm(job, next);
    else job.nextRunAt = next;
  }

  /** Runs a job now, outside its schedule (the schedule itself does not move); 404 for an unknown job. */
  runNow(id: string, origin: JobOrigin = { by: 'operator' }): Promise<JobOutcome> {
    return this.stateOf(id).definition.run(origin);
  }

  private stateOf(id: string): JobState {
    const job = this.jobs.get(id as JobId);
    if (!job) throw new AppError('not_found', 404, `unknown job ${id}; jobs: ${JOB_IDS.join(', ')}`);
    return job;
  }

  private get armed(): boolean {
    return this.enabled && this.leading;
  }

  private async load(): Promise<void> {
    const settings = await selectJobSettings(this.orm, [...this.jobs.keys()]);
    for (const setting of settings) {
      const job = this.jobs.get(setting.id as JobId);
      if (!job) continue;
      job.intervalOverride = setting.intervalSeconds ?? null;
      job.intervalSeconds = job.intervalOverride ?? job.definition.defaultIntervalSeconds;
      job.paused = job.definition.pausable && setting.paused;
      // The leader's tick in progress is newer than what is stored.
      if (!job.ticking) job.lastRunAt = setting.lastRunAt ?? null;
      if (!this.armed) job.nextRunAt = job.paused ? null : (setting.nextRunAt ?? null);
    }
  }

  /** When a job runs next if armed now: one interval after the last run (never in the past); none while paused. */
  private dueAt(job: Pick<JobState, 'paused' | 'lastRunAt' | 'intervalSeconds'>): Date | null {
    if (job.paused) return null;
    const now = Date.now();
    const dueAt = job.lastRunAt ? job.lastRunAt.getTime() + job.intervalSeconds * 1000 : now + job.intervalSeconds * 1000;
    return new Date(Math.max(dueAt, now + 1000));
  }

  private disarm(): void {
    for (const job of this.jobs.values()) {
      job.timer?.stop();
      job.timer = null;
    }
  }

  /** (Re)arms a job's timer for `next` (null: none). */
  private arm(job: JobState, next: Date | null): void {
    job.timer?.stop();
    job.timer = null;
    job.nextRunAt = next;
    if (!this.armed || !next) return;
    job.timer = new Cron(next, { name: `${job.definition.id}@${next.toISOString()}`, protect: true }, () => this.tick(job));
  }

  private async tick(job: JobState): Promise<void> {
    if (job.ticking) {
      this.onTickSkipped(job.definition.id);
      this.logger.warn({ job: job.definition.id }, 'tick skipped: the previous tick is still running');
      return;
    }
    job.ticking = true;
    job.timer = null;
    job.lastRunAt = new Date();
    try {
      const outcome = await job.definition.run({ by: 'schedule' });
      this.logger.debug({ job: job.definition.id, outcome: outcome.summary }, 'job tick');
    } catch (error) {
      this.logger.error({ job: job.definition.id, err: error }, 'job tick failed');
    } finally {
      job.ticking = false;
      const next = this.armed ? this.dueAt(job) : null;
      await this.saveTimes(job, next).catch((error: unknown) => this.logger.error({ err: error }, 'cannot store the scheduler state'));
      if (this.armed) this.arm(job, next);
      await this.changed();
    }
  }

  private async save(job: Pick<JobState, 'definition' | 'intervalOverride' | 'paused' | 'lastRunAt'>, extra: { nextRunAt: Date | null }): Promise<void> {
    await upsertJobSettings(this.orm, {
      id: job.definition.id,
      intervalSeconds: job.intervalOverride,
      paused: job.paused,
      lastRunAt: job.lastRunAt,
      nextRunAt: extra.nextRunAt,
    });
  }

  /** Stores only a job's last and next run (the leader's timers), never an operator's settings. */
  private async saveTimes(job: JobState, next: Date | null): Promise<void> {
    await upsertJobTimes(this.orm, job.definition.id, job.lastRunAt, next);
  }

  private async changed(): Promise<void> {
    await this.onChange(this.state()).catch((error: unknown) => this.logger.error({ err: error }, 'cannot publish scheduler.changed'));
  }
}
