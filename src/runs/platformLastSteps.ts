import { boundRows } from '../db/boundStatement.js';
import type { Orm } from '../db/database.js';
import { HEALTH_COLUMNS, healthJoins, toHealth, type HealthRow } from '../history/scrapeHistory.js';
import type { PlatformHealth } from '../shared/contract.js';

export interface PlatformLastStep {
  platform: string;
  runId: number;
  status: 'completed' | 'failed';
  finishedAt: Date;
  eventsFound: number;
  lastSuccessAt: Date | null;
  /** Its failure rate over its last scrapes and its last error (GET /api/platforms). */
  health: PlatformHealth;
}

/** Each platform's last finished step, its last success and its health (GET /api/platforms, freshness at start-up). */
export async function platformLastSteps(orm: Orm): Promise<PlatformLastStep[]> {
  const rows = await boundRows<{ platform: string; run_id: string; status: 'completed' | 'failed'; finished_at: Date | string; events_found: number; last_success_at: Date | string | null } & HealthRow>(
    orm,
    `select lo.*, ${HEALTH_COLUMNS} from (
       select distinct on (ps.platform) ps.platform, ps.run_id, ps.status, ps.finished_at, ps.events_found,
         (select max(ok.finished_at) from platform_steps ok where ok.platform = ps.platform and ok.status = 'completed') as last_success_at
       from platform_steps ps where ps.status in ('completed', 'failed') and ps.finished_at is not null
       order by ps.platform, ps.finished_at desc
     ) lo ${healthJoins('lo.platform')}`,
  );
  return rows.map((row) => ({
    platform: row.platform,
    runId: Number(row.run_id),
    status: row.status,
    finishedAt: new Date(row.finished_at),
    eventsFound: row.events_found,
    lastSuccessAt: row.last_success_at === null ? null : new Date(row.last_success_at),
    health: toHealth(row),
  }));
}
