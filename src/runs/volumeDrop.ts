import { trace } from '@opentelemetry/api';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { VolumeCriteria } from '../events/index.js';
import { lastScrapeEventsOf, type LastScrapeEvents } from '../liveState/lastScrapeEvents.js';
import type { LastSuccessfulStep } from '../liveState/lastSuccessfulSteps.js';
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
  metrics: Pick<Metrics, 'volumeDropped'>;
  logger: Logger;
  settings: Pick<Config, 'volumeDropFraction' | 'volumeDropWindow'>;
}

/**
 * The silent-feed check (Spidermon's item-count monitor): a successful scrape that found fewer sporting
 * events than VOLUME_DROP_FRACTION of the median of its platform's previous VOLUME_DROP_WINDOW successful
 * scrapes is a volume drop. The median, not the mean: one odd scrape does not move "usual". The database
 * judges it in the statement that completes the step (no round trip of its own); this class holds the
 * criteria and reports the verdict: gauge, counter, span attributes and a warning line.
 */
export class VolumeWatch {
  readonly criteria: VolumeCriteria;

  private constructor(
    private readonly deps: VolumeWatchDeps,
    /** Backs oddswatch_platform_events_last_scrape. */
    readonly lastScrape: LastScrapeEvents,
  ) {
    this.criteria = { fraction: deps.settings.volumeDropFraction, window: deps.settings.volumeDropWindow, minScrapes: MIN_PREVIOUS_SCRAPES };
  }

  /** `lastSteps`: each platform's last successful scrape as start-up read it (liveState/lastSuccessfulSteps.ts). */
  static load(deps: VolumeWatchDeps, lastSteps: ReadonlyMap<string, LastSuccessfulStep>): VolumeWatch {
    return new VolumeWatch(deps, lastScrapeEventsOf(lastSteps));
  }

  /** Reports the verdict stored on the step the runner just completed. */
  judged(runId: number, platform: string, eventsFound: number, verdict: VolumeVerdict): void {
    this.lastScrape.succeeded(platform, eventsFound);
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
  }
}
