import { Cron } from 'croner';
import type { Logger } from 'pino';
import type { Orm } from '../db/database.js';
import { SchedulerJobSetting } from '../db/entities.js';
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
 * Runs the job table (jobs.ts) by id, each on its own interval. Operator changes
 * (interval, pause) are stored in the database and survive restarts; every change is announced
 * through `onChange` (the global event stream). The timers are croner one-shot jobs re-armed after each tick.
 */
export class Scheduler {
  private readonly jobs = new Map<JobId, JobState>();
  private started = false;

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

  /** Loads the stored settings; arms the timers unless `arm` is false (scheduler disabled). */
  async start(arm = true): Promise<void> {
    const em = this.orm.em.fork();
    const settings = await em.find(SchedulerJobSetting, { id: { $in: [...this.jobs.keys()] } });
    for (const setting of settings) {
      const job = this.jobs.get(setting.id as JobId);
      if (!job) continue;
      job.intervalOverride = setting.intervalSeconds ?? null;
      job.intervalSeconds = job.intervalOverride ?? job.definition.defaultIntervalSeconds;
      job.paused = job.definition.pausable && setting.paused;
      job.lastRunAt = setting.lastRunAt ?? null;
    }
    this.started = arm;
    if (arm) for (const job of this.jobs.values()) this.arm(job);
  }

  stop(): void {
    this.started = false;
    for (const job of this.jobs.values()) {
      job.timer?.stop();
      job.timer = null;
      job.nextRunAt = null;
    }
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
      job.paused = paused;
      await this.save(job);
      this.arm(job);
      this.logger.info({ job: job.definition.id, paused }, paused ? 'scheduler paused' : 'scheduler resumed');
    }
    await this.changed();
    return this.state();
  }

  async setInterval(id: string, intervalSeconds: number): Promise<SchedulerJob> {
    const job = this.stateOf(id);
    const before = job.intervalSeconds;
    job.intervalSeconds = intervalSeconds;
    job.intervalOverride = intervalSeconds;
    await this.save(job);
    this.arm(job);
    this.logger.info({ job: id, interval_seconds: intervalSeconds, previous_interval_seconds: before }, 'job interval changed');
    await this.changed();
    return this.job(id);
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

  /** (Re)arms a job: next run one interval after the last one (never in the past), none while paused. */
  private arm(job: JobState): void {
    job.timer?.stop();
    job.timer = null;
    job.nextRunAt = null;
    if (!this.started || job.paused) return;
    const now = Date.now();
    const dueAt = job.lastRunAt ? job.lastRunAt.getTime() + job.intervalSeconds * 1000 : now + job.intervalSeconds * 1000;
    const next = new Date(Math.max(dueAt, now + 1000));
    job.nextRunAt = next;
    job.timer = new Cron(next, { name: `${job.definition.id}@${next.toISOString()}`, protect: true }, () => this.tick(job));
  }

  private async tick(job: JobState): Promise<void> {
    if (job.ticking) {
      this.onTickSkipped(job.definition.id);
      this.logger.warn({ job: job.definition.id }, 'tick skipped: the previous tick is still running');
      return;
    }
    job.ticking = true;
    job.lastRunAt = new Date();
    try {
      const outcome = await job.definition.run({ by: 'schedule' });
      this.logger.debug({ job: job.definition.id, outcome: outcome.summary }, 'job tick');
    } catch (error) {
      this.logger.error({ job: job.definition.id, err: error }, 'job tick failed');
    } finally {
      job.ticking = false;
      await this.save(job).catch((error: unknown) => this.logger.error({ err: error }, 'cannot store the scheduler state'));
      this.arm(job);
      await this.changed();
    }
  }

  private async save(job: JobState): Promise<void> {
    const em = this.orm.em.fork();
    await em.upsert(SchedulerJobSetting, {
      id: job.definition.id,
      intervalSeconds: job.intervalOverride,
      paused: job.paused,
      lastRunAt: job.lastRunAt,
      updatedAt: new Date(),
    });
  }

  private async changed(): Promise<void> {
    await this.onChange(this.state()).catch((error: unknown) => this.logger.error({ err: error }, 'cannot publish scheduler.changed'));
  }
}
