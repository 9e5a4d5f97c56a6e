import type { Logger } from 'pino';
import type { Orm } from '../db/database.js';
import { selectRunActivity } from '../db/tables/runs.js';
import { settlesWithin } from '../shared/timeout.js';

export interface RunActivity {
  active: number;
  oldestRunningAgeSeconds: number;
}

/** How long a scrape waits for the database before it serves the last known values. */
export const DATABASE_GAUGE_DEADLINE_MS = 2_000;

/**
 * The gauges that need the database (runs active, oldest running age, database up), read with a
 * deadline and never failing: a scrape refreshes them when the database answers in time and otherwise
 * serves the last known values with `up` at 0, so /metrics keeps answering while the database is down
 * or frozen. One query at a time: scrapes during a slow query share it.
 */
export class DatabaseState {
  private up = true;
  private active = 0;
  /** Epoch ms of the oldest running run's start, so a last known age keeps growing while the database is away. */
  private oldestStartedAt: number | null = null;
  private inFlight: Promise<void> | undefined;

  constructor(
    private readonly orm: Orm,
    private readonly logger: Logger,
    private readonly deadlineMs = DATABASE_GAUGE_DEADLINE_MS,
  ) {}

  get isUp(): boolean {
    return this.up;
  }

  /** Refreshes within the deadline if it can, then answers from what is known. */
  async runActivity(): Promise<RunActivity> {
    await this.refresh();
    return this.activity();
  }

  /** The last known activity, without asking the database. */
  activity(): RunActivity {
    const age = this.oldestStartedAt === null ? 0 : (Date.now() - this.oldestStartedAt) / 1000;
    return { active: this.active, oldestRunningAgeSeconds: Math.max(0, age) };
  }

  async refresh(): Promise<void> {
    this.inFlight ??= this.query().finally(() => (this.inFlight = undefined));
    const inTime = await settlesWithin(this.inFlight, this.deadlineMs);
    if (!inTime) this.setUp(false, 'no answer within the metrics deadline');
  }

  private async query(): Promise<void> {
    try {
      const activity = await selectRunActivity(this.orm);
      this.active = activity.active;
      this.oldestStartedAt = activity.oldestStartedAt;
      this.setUp(true);
    } catch (error) {
      this.setUp(false, (error as Error).message);
    }
  }

  private setUp(up: boolean, why?: string): void {
    if (up === this.up) return;
    this.up = up;
    if (up) this.logger.info({ database_up: true }, 'database answering again');
    else this.logger.warn({ database_up: false, why }, 'database not answering; metrics serve the last known run activity');
  }
}
