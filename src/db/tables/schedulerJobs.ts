import { boundRowCount } from '../boundStatement.js';
import type { Orm } from '../database.js';
import { SchedulerJobSetting } from '../entities.js';

/**
 * Who writes `scheduler_jobs`: only the scheduler (scheduler/scheduler.ts): an operator's settings with
 * the job's times (`upsertJobSettings`, through the entity manager: a cold path) and the leader's timers
 * after each tick (`upsertJobTimes`, bound SQL that never touches an operator's settings).
 */

/** What an operator's change stores (`updated_at` is set here). */
export interface JobSettings {
  id: string;
  intervalSeconds: number | null;
  paused: boolean;
  lastRunAt: Date | null;
  nextRunAt: Date | null;
}

/** The stored state of the jobs `ids` (absent: never stored). */
export function selectJobSettings(orm: Orm, ids: string[]): Promise<SchedulerJobSetting[]> {
  return orm.em.fork().find(SchedulerJobSetting, { id: { $in: ids } });
}

/** Stores a job's settings and times (an operator's change). */
export async function upsertJobSettings(orm: Orm, setting: JobSettings): Promise<void> {
  await orm.em.fork().upsert(SchedulerJobSetting, { ...setting, updatedAt: new Date() });
}

/** Stores only a job's last and next run (the leader's timers), never an operator's settings. */
export async function upsertJobTimes(orm: Orm, id: string, lastRunAt: Date | null, nextRunAt: Date | null): Promise<void> {
  await boundRowCount(
    orm,
    `insert into scheduler_jobs (id, paused, last_run_at, next_run_at, updated_at) values (?, false, ?, ?, now())
     on conflict (id) do update set last_run_at = excluded.last_run_at, next_run_at = excluded.next_run_at, updated_at = now()`,
    [id, lastRunAt, nextRunAt],
  );
}
