import { MikroORM } from '@mikro-orm/postgresql';
import pino, { type Logger } from 'pino';
import pg from 'pg';
import { ormConfig } from '../../src/db/ormConfig.js';

/** Applies the committed migrations to a test database. */
export async function migrate(url: string): Promise<void> {
  const orm = await MikroORM.init(ormConfig(url, { logger: () => undefined }));
  try {
    await orm.getMigrator().up();
  } finally {
    await orm.close(true);
  }
}

/** A pino logger whose lines land in `lines` (parsed), to assert what was logged. */
export function capturingLogger(level = 'info'): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { logger, lines };
}

/** Terminates every backend whose application_name is `applicationName`; returns how many. */
export async function terminateBackends(url: string, applicationName: string): Promise<number> {
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    const { rows } = await admin.query<{ ok: boolean }>(
      'select pg_terminate_backend(pid) as ok from pg_stat_activity where application_name = $1 and pid <> pg_backend_pid()',
      [applicationName],
    );
    return rows.filter((row) => row.ok).length;
  } finally {
    await admin.end();
  }
}

export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}
