import { stepJobId } from '../../src/queue/stepQueue.js';

type Query = (sql: string, params?: unknown[]) => Promise<unknown>;

/**
 * A step job as a replica that then died left it: active in the queue (first delivery), held by nobody alive.
 * What a test that builds a dead replica's run in SQL adds for each step that replica was scraping.
 */
export async function insertHeldStepJob(query: Query, runId: number, platform: string, options: { kind?: 'http' | 'browser'; traceparent?: string } = {}): Promise<string> {
  const id = stepJobId(runId, platform);
  const trace = options.traceparent ? { traceparent: options.traceparent } : {};
  await query(
    `insert into pgboss.job (id, name, data, state, started_on, heartbeat_on, retry_limit, retry_count, heartbeat_seconds, expire_seconds)
     values ($1, $2, $3::jsonb, 'active', now(), now(), 2, 0, 10, 86400)`,
    [id, `oddswatch-steps-${options.kind ?? 'http'}`, JSON.stringify({ runId, platform, trace })],
  );
  return id;
}
