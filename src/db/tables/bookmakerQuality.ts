import { boundRowCount, boundRows, boundStatement } from '../boundStatement.js';
import type { Orm } from '../database.js';
import { sqlArray } from '../sqlArray.js';

/**
 * Who writes `bookmaker_quality`: the frozen-bookmaker check after each completed step of the platform
 * (`judgeFrozen`, `recordFrozen`; src/quality/frozenBookmakers.ts), on whichever replica ran it; retention
 * deletes the rows of bookmakers without prices (`deleteBookmakersWithoutPrices`, odds/pruneOdds.ts). Read by
 * every replica's frozen gauge, by GET /api/odds (`selectFrozen`) and by GET /api/platforms
 * (`selectPlatformQuality`: `updated_at` is when a step last wrote the bookmaker's prices).
 */

export interface FrozenVerdict {
  bookmaker: string;
  /** Scrapes in a row, this one included, in which none of the bookmaker's prices changed. */
  unchangedScrapes: number;
  frozen: boolean;
}

/**
 * One statement after a platform's step: for each bookmaker it priced, whether any of the prices this run
 * wrote differs from the bookmaker's previous scrape (odds.previous_price); the run of unchanged scrapes
 * moved on; frozen when that run is `frozenAfter` long or more while another bookmaker's price for one of
 * the same sporting events changed since this bookmaker's last change.
 */
export function judgeFrozen(orm: Orm, platform: string, runId: number, frozenAfter: number): Promise<FrozenVerdict[]> {
  return boundRows<FrozenVerdict>(
    orm,
    `with moved as (
       select bookmaker,
         count(*) filter (where previous_price is not null and previous_price <> price) as moved,
         count(*) filter (where previous_price is not null) as comparable
       from odds where platform = ? and run_id = ? group by bookmaker
     ),
     streak as (
       insert into bookmaker_quality as q (platform, bookmaker, unchanged_scrapes, last_moved_at, updated_at)
       select ?, m.bookmaker, case when m.moved = 0 and m.comparable > 0 then 1 else 0 end, case when m.moved > 0 then now() end, now()
       from moved m
       on conflict (platform, bookmaker) do update set
         unchanged_scrapes = case when excluded.last_moved_at is not null then 0
                                  when excluded.unchanged_scrapes > 0 then q.unchanged_scrapes + 1
                                  else q.unchanged_scrapes end,
         last_moved_at = coalesce(excluded.last_moved_at, q.last_moved_at),
         updated_at = now()
       returning q.bookmaker, q.unchanged_scrapes, q.last_moved_at
     )
     select s.bookmaker, s.unchanged_scrapes as "unchangedScrapes",
       s.unchanged_scrapes >= ? and exists (
         select 1 from odds o
         join event_listings l on l.platform = o.platform and l.event_key = o.event_key
         join event_listings l2 on l2.sporting_event_id = l.sporting_event_id
         join odds o2 on o2.platform = l2.platform and o2.event_key = l2.event_key
         where o.platform = ? and o.run_id = ? and o.bookmaker = s.bookmaker and o2.bookmaker <> s.bookmaker
           and o2.previous_price is not null and o2.previous_price <> o2.price
           and o2.scraped_at > coalesce(s.last_moved_at, '-infinity'::timestamptz)
       ) as frozen
     from streak s order by s.bookmaker`,
    [platform, runId, platform, frozenAfter, platform, runId],
  );
}

/** The verdicts on each bookmaker's row, and the frozen ones on the step. */
export async function recordFrozen(orm: Orm, platform: string, runId: number, verdicts: readonly FrozenVerdict[]): Promise<void> {
  await boundStatement(
    orm,
    `with verdicts as (select * from unnest(?::text[], ?::boolean[]) as v(bookmaker, frozen)),
     kept as (update bookmaker_quality q set frozen = v.frozen from verdicts v where q.platform = ? and q.bookmaker = v.bookmaker)
     update platform_steps set frozen_bookmakers = (select coalesce(array_agg(bookmaker order by bookmaker) filter (where frozen), '{}') from verdicts)
     where run_id = ? and platform = ?`,
    [sqlArray(verdicts.map((verdict) => verdict.bookmaker)), `{${verdicts.map((verdict) => String(verdict.frozen)).join(',')}}`, platform, runId, platform],
  );
}

/** Every bookmaker's last verdict on the configured platforms (at most `limit`, frozen first). */
export function selectFrozen(orm: Orm, platforms: readonly string[], limit: number): Promise<{ platform: string; bookmaker: string; frozen: boolean }[]> {
  return boundRows(orm, `select platform, bookmaker, frozen from bookmaker_quality where platform = any(?::text[]) order by frozen desc, platform, bookmaker limit ?`, [sqlArray(platforms), limit]);
}

/**
 * Coverage of each bookmaker a run's completed steps priced: the share of the matched sporting events
 * (listed by two platforms or more, starting later than 3 hours ago or with no start time) it has a price of
 * from this run; beside each platform's coverage on its previous `window` completed steps that have one.
 */
export async function selectRunCoverage(
  orm: Orm,
  runId: number,
  platforms: readonly string[],
  window: number,
): Promise<{ current: { platform: string; bookmaker: string; share: number }[]; previous: { platform: string; coverage: Record<string, number> }[] }> {
  const [current, previous] = await Promise.all([
    boundRows<{ platform: string; bookmaker: string; share: number | null }>(
      orm,
      `with matched as (
         select l.sporting_event_id from event_listings l join sporting_events se on se.id = l.sporting_event_id
         where se.starts_at is null or se.starts_at > now() - interval '3 hours'
         group by l.sporting_event_id having count(distinct l.platform) >= 2
       ),
       priced as (
         select o.platform, o.bookmaker, count(distinct l.sporting_event_id) as events
         from odds o join event_listings l on l.platform = o.platform and l.event_key = o.event_key
         where o.run_id = ? and o.platform = any(?::text[]) and l.sporting_event_id in (select sporting_event_id from matched)
         group by o.platform, o.bookmaker
       )
       select p.platform, p.bookmaker, (p.events::float8 / nullif((select count(*) from matched), 0)) as share from priced p`,
      [runId, sqlArray(platforms)],
    ),
    boundRows<{ platform: string; coverage: Record<string, number> }>(
      orm,
      `select platform, coverage from (
         select platform, coverage, row_number() over (partition by platform order by finished_at desc) as newest
         from platform_steps where platform = any(?::text[]) and status = 'completed' and coverage is not null and run_id <> ?
       ) steps where newest <= ?`,
      [sqlArray(platforms), runId, window],
    ),
  ]);
  return { current: current.filter((row): row is { platform: string; bookmaker: string; share: number } => row.share !== null), previous };
}

/** Each step's coverage and the bookmakers whose coverage dropped, for every platform judged, in one statement. */
export async function recordRunCoverage(orm: Orm, runId: number, judged: Record<string, { coverage: Record<string, number>; drops: string[] }>): Promise<void> {
  await boundStatement(
    orm,
    `update platform_steps ps set coverage = v.value->'coverage', coverage_drops = array(select jsonb_array_elements_text(v.value->'drops'))
     from jsonb_each(?::jsonb) v where ps.run_id = ? and ps.platform = v.key`,
    [JSON.stringify(judged), runId],
  );
}

/** Each bookmaker's row on a platform: when a step last wrote its prices (`updated_at`), and its last frozen verdict. */
export interface BookmakerQualityRow {
  bookmaker: string;
  frozen: boolean;
  last_price_at: string;
}

/**
 * Each configured platform's last completed step's checks and its bookmakers' rows (at most `perPlatform`,
 * frozen first, then the oldest newest price), in one statement: one index look-up per platform for the step,
 * and the small bookmaker_quality table for the rest.
 */
export function selectPlatformQuality(orm: Orm, platforms: readonly string[], perPlatform: number) {
  return boundRows<{
    platform: string;
    run_id: string | null;
    markets_checked: number | null;
    implausible_markets: number | null;
    outlier_prices: number | null;
    coverage_drops: string[] | null;
    bookmakers: BookmakerQualityRow[];
    bookmakers_total: number;
  }>(
    orm,
    `select p.platform, last.run_id, last.markets_checked, last.implausible_markets, last.outlier_prices, last.coverage_drops,
       coalesce((select json_agg(json_build_object('bookmaker', q.bookmaker, 'frozen', q.frozen, 'last_price_at', q.updated_at) order by q.frozen desc, q.updated_at, q.bookmaker)
                 from (select * from bookmaker_quality q where q.platform = p.platform order by q.frozen desc, q.updated_at, q.bookmaker limit ?) q), '[]'::json) as bookmakers,
       (select count(*) from bookmaker_quality q where q.platform = p.platform)::int as bookmakers_total
     from unnest(?::text[]) as p(platform)
     left join lateral (
       select ps.run_id, ps.markets_checked, ps.implausible_markets, ps.outlier_prices, ps.coverage_drops from platform_steps ps
       where ps.platform = p.platform and ps.status = 'completed' and ps.finished_at is not null
       order by ps.finished_at desc limit 1
     ) last on true`,
    [perPlatform, sqlArray(platforms)],
  );
}

/** Retention: the rows of bookmakers no step has written a price of for over `retentionDays` days (their prices are gone too). */
export function deleteBookmakersWithoutPrices(orm: Orm, retentionDays: number): Promise<number> {
  return boundRowCount(orm, `delete from bookmaker_quality where updated_at < now() - make_interval(days => ?)`, [retentionDays]);
}
