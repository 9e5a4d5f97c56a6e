import type { SqlExecutor } from '../sqlExecutor.js';

/**
 * Who writes `platform_locks`: only runs/platformLocks.ts. A row per platform says which replica is
 * scraping it now (`holder`, null when none) and when the last scrape of it ended (`released_at`), so one
 * platform is scraped by one replica at a time and its request spacing holds from one replica to the next.
 * Times are the database's, so replicas' clocks never disagree about them.
 */

/** What a replica gets with the lock: how long to wait before its first request (the spacing left since the last scrape ended). */
export interface TakenLock {
  waitMs: number;
  /** When it was taken (the database's text, exact to the microsecond): a release frees this taking only. */
  takenAt: string;
}

const WAIT_MS = `coalesce(greatest(0, ceil(extract(epoch from (released_at - clock_timestamp())) * 1000 + ?)), 0)::float8 as wait_ms, taken_at::text as taken_at`;

/** Takes the lock of `platform` for `holder` when no replica holds it; null when one does. */
export async function takeFreePlatformLock(execute: SqlExecutor, platform: string, holder: string, spacingMs: number): Promise<TakenLock | null> {
  const rows = await execute<{ wait_ms: number; taken_at: string }>(
    `insert into platform_locks (platform, holder, taken_at) values (?, ?, now())
     on conflict (platform) do update set holder = excluded.holder, taken_at = excluded.taken_at
       where platform_locks.holder is null
     returning ${WAIT_MS}`,
    [platform, holder, spacingMs],
  );
  return rows[0] ? { waitMs: Number(rows[0].wait_ms), takenAt: rows[0].taken_at } : null;
}

/** Takes the lock of `platform` from `from` (a replica found dead, or this replica's own lock left unreleased); null when `from` no longer holds it. */
export async function takePlatformLockFrom(execute: SqlExecutor, platform: string, from: string, holder: string, spacingMs: number): Promise<TakenLock | null> {
  const rows = await execute<{ wait_ms: number; taken_at: string }>(
    `update platform_locks set holder = ?, taken_at = now() where platform = ? and holder = ? returning ${WAIT_MS}`,
    [holder, platform, from, spacingMs],
  );
  return rows[0] ? { waitMs: Number(rows[0].wait_ms), takenAt: rows[0].taken_at } : null;
}

/** The replica holding `platform`'s lock, or null. */
export async function selectPlatformLockHolder(execute: SqlExecutor, platform: string): Promise<string | null> {
  const rows = await execute<{ holder: string | null }>('select holder from platform_locks where platform = ?', [platform]);
  return rows[0]?.holder ?? null;
}

/** Frees `platform`'s lock if `holder` still holds it from that taking; the scrape ended now. */
export async function releasePlatformLock(execute: SqlExecutor, platform: string, holder: string, takenAt: string): Promise<void> {
  await execute('update platform_locks set holder = null, released_at = now() where platform = ? and holder = ? and taken_at = ?::timestamptz', [platform, holder, takenAt]);
}
