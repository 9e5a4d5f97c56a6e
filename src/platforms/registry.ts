import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { PlatformAdapter } from './adapter.js';
import { BrowserPool, defaultMaxPages } from './browser/browserPool.js';
import { createAdapter } from './createAdapter.js';
import { parsePlatformEntry, PlatformEntryError, readPlatformsFile, type PlatformEntry } from './platformsFile.js';
import { parseSimFeeds, SimulatedFeeds } from './simulatedFeeds.js';

export interface Platforms {
  adapters: ReadonlyMap<string, PlatformAdapter>;
  names: string[];
  /** Present when the built-in simulated platforms serve the bookmakers. */
  simulated: SimulatedFeeds | undefined;
  /** This replica's browser, shared by its `browser` platforms and the preview; started on first use. */
  browsers: BrowserPool;
  /** Each platform's `minRequestIntervalMs` (0 when none): its spacing between requests, held across replicas too. */
  requestSpacingMs: ReadonlyMap<string, number>;
  stop(): Promise<void>;
}

/**
 * PLATFORMS_FILE when set; otherwise the built-in simulated platforms (one or more of every kind), scraped
 * over real HTTP; the simulated `browser` ones only when a Chromium is there.
 */
export async function createPlatforms(config: Config, logger: Logger): Promise<Platforms> {
  const browsers = new BrowserPool({
    executablePath: config.chromiumPath,
    maxPages: config.browserMaxPages ?? defaultMaxPages(),
    recyclePages: config.browserRecyclePages,
    maxMemoryBytes: config.browserMaxMemoryMb * 1024 ** 2,
    logger: logger.child({ component: 'browser' }),
  });
  let simulated: SimulatedFeeds | undefined;
  let entries: PlatformEntry[];
  if (config.platformsFile) {
    entries = await readPlatformsFile(config.platformsFile, config.platformTimeoutMs);
  } else {
    simulated = new SimulatedFeeds(parseSimFeeds(config.simFeeds), { browsers: browsers.available });
    await simulated.start();
    const feeds = simulated;
    entries = feeds.names.map((name) => parsePlatformEntry(feeds.entryOf(name), config.platformTimeoutMs, feeds.env, name));
  }
  const browserPlatforms = entries.filter((entry) => entry.kind === 'browser').map((entry) => entry.name);
  if (!browsers.available) {
    // Once, at start-up: every other kind runs; a browser platform's steps fail `browser` with the same words.
    if (browserPlatforms.length > 0) logger.warn({ platforms: browserPlatforms }, `browser platforms will fail: ${browsers.unavailableMessage}`);
    else if (simulated) logger.info(`the simulated browser platforms are left out: ${browsers.unavailableMessage}`);
  }
  let adapters: Map<string, PlatformAdapter>;
  try {
    // A kind checks what it can only check by building (a JSONata expression's syntax): a bad entry stops start-up.
    adapters = new Map(entries.map((entry) => [entry.name, createAdapter(entry, browsers)]));
  } catch (error) {
    await simulated?.stop();
    if (error instanceof PlatformEntryError) throw new Error(`${config.platformsFile ? `PLATFORMS_FILE ${config.platformsFile}` : 'simulated platforms'}: ${error.message}`, { cause: error });
    throw error;
  }
  return {
    adapters,
    names: [...adapters.keys()],
    simulated,
    browsers,
    requestSpacingMs: new Map(entries.map((entry) => [entry.name, entry.minRequestIntervalMs ?? 0])),
    stop: async () => {
      await Promise.allSettled([...adapters.values()].map((adapter) => adapter.close?.()));
      await browsers.close();
      await simulated?.stop();
    },
  };
}
