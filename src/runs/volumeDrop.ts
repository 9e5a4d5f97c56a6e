import { trace } from '@opentelemetry/api';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Orm } from '../db/database.js';
import { loadLastScrapeEvents, type LastScrapeEvents } from '../liveState/lastScrapeEvents.js';
import type { Metrics } from '../telemetry/metrics.js';

/** Fewer previous successful scrapes than this and a platform has no "usual" yet: nothing is flagged. */
export const MIN_PREVIOUS_SCRAPES = 3;

/** What a completed step recorded: null/null when there was no usual to compare with. */
export interface VolumeVerdict {
  volumeDrop: boolean | null;
  /** The median sporting events of the platform's previous successful scrapes, rounded. */
  expectedEvents: number | null;
}

export interface VolumeWatchDeps {
  orm: Orm;
  metrics: Pick<Metrics, 'volumeDropped'>;
  logger: Logger;
  settings: Pick<Config, 'volumeDropFraction' | 'volumeDropWindow'>;
}

/**
 * The silent-feed check (Spidermon's item-count monitor): a successful scrape that found fewer sporting
 * events than VOLUME_DROP_FRACTION of the median of its platform's previous VOLUME_DROP_WINDOW successful
 * scrapes is a volume drop. The median, not the mean: one odd scrape does not move "usual".
 */
export class VolumeWatch {
  private constructor(
    private readonly deps: VolumeWatchDeps,
    /** Backs oddswatch_platform_events_last_scrape. */
    readonly lastScrape: LastScrapeEvents,
  ) {}

  static async load(deps: VolumeWatchDeps, platforms: readonly string[]): Promise<VolumeWatch> {
    return new VolumeWatch(deps, await loadLastScrapeEvents(deps.orm, platforms));
  }

  /**
   * Judges the step the runner just completed and stores the verdict on it: one statement that reads
   * the median (the (platform, finished_at) index, newest first) and updates the step. A failure to
   * judge is logged and never fails the scrape.
   */
  async check(runId: number, platform: string, eventsFound: number): Promise<VolumeVerdict> {
    this.lastScrape.succeeded(platform, eventsFound);
    let verdict: VolumeVerdict = { volumeDrop: null, expectedEvents: null };
    try {
      const rows = await this.deps.orm.em.getConnection().execute<{ expected_events: number; volume_drop: boolean }[]>(
        `update platform_steps s set expected_events = round(usual.median)::int, volume_drop = s.events_found < usual.median * ?
         from (
           select percentile_cont(0.5) within group (order by prev.events_found) as median, count(*) as scrapes
           from (
             select ps.events_found from platform_steps ps
             where ps.platform = ? and ps.status = 'completed' and ps.finished_at is not null and ps.run_id <> ?
             order by ps.finished_at desc limit ?
           ) prev
         ) usual
         where s.run_id = ? and s.platform = ? and s.status = 'completed' and usual.scrapes >= ?
         returning s.expected_events, s.volume_drop`,
        [this.deps.settings.volumeDropFraction, platform, runId, this.deps.settings.volumeDropWindow, runId, platform, MIN_PREVIOUS_SCRAPES],
        'all',
      );
      if (rows[0]) verdict = { volumeDrop: rows[0].volume_drop, expectedEvents: rows[0].expected_events };
    } catch (error) {
      this.deps.logger.error({ run_id: runId, platform, err: error }, 'volume drop check failed');
    }
    if (verdict.volumeDrop !== null && verdict.expectedEvents !== null) {
      trace.getActiveSpan()?.setAttributes({ 'oddswatch.platform.volume_drop': verdict.volumeDrop, 'oddswatch.platform.expected_events': verdict.expectedEvents });
    }
    if (verdict.volumeDrop) {
      this.deps.metrics.volumeDropped(platform);
      this.deps.logger.warn(
        { run_id: runId, platform, events_found: eventsFound, expected_events: verdict.expectedEvents },
        'platform volume drop: far fewer sporting events than usual',
      );
    }
    return verdict;
  }
}
