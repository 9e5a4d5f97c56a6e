import type { LastSuccessfulStep } from './lastSuccessfulSteps.js';

/**
 * The sporting events found by each platform's last successful scrape, exposed as
 * oddswatch_platform_events_last_scrape. Loaded from the database at start-up (so a restart does not
 * blank the gauge), then moved by every successful scrape in this process.
 */
export class LastScrapeEvents {
  private readonly events: Map<string, number>;

  constructor(initial: Iterable<readonly [string, number]> = []) {
    this.events = new Map(initial);
  }

  succeeded(platform: string, eventsFound: number): void {
    this.events.set(platform, eventsFound);
  }

  eventsFound(): ReadonlyMap<string, number> {
    return this.events;
  }
}

/** The sporting events of each platform's last successful scrape, from lastSuccessfulSteps as read at start-up. */
export function lastScrapeEventsOf(lastSteps: ReadonlyMap<string, LastSuccessfulStep>): LastScrapeEvents {
  return new LastScrapeEvents([...lastSteps].map(([platform, step]) => [platform, step.eventsFound] as const));
}
