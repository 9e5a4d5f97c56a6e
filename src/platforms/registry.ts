import type { Config } from '../config.js';
import type { PlatformAdapter } from './adapter.js';
import { createHttpJsonAdapter } from './httpJsonAdapter.js';
import { readPlatformsFile } from './platformsFile.js';
import { parseSimFeeds, SimulatedFeeds } from './simulatedFeeds.js';

export interface Platforms {
  adapters: ReadonlyMap<string, PlatformAdapter>;
  names: string[];
  /** Present when the built-in simulated bookmakers serve the feeds. */
  simulated: SimulatedFeeds | undefined;
  stop(): Promise<void>;
}

/** PLATFORMS_FILE when set; otherwise the built-in simulated bookmakers, scraped over real HTTP. */
export async function createPlatforms(config: Config): Promise<Platforms> {
  let simulated: SimulatedFeeds | undefined;
  let definitions;
  if (config.platformsFile) {
    definitions = await readPlatformsFile(config.platformsFile, config.platformTimeoutMs);
  } else {
    simulated = new SimulatedFeeds(parseSimFeeds(config.simFeeds));
    await simulated.start();
    const feeds = simulated;
    definitions = feeds.names.map((name) => ({ name, baseUrl: feeds.urlOf(name), timeoutMs: config.platformTimeoutMs }));
  }
  const adapters = new Map(definitions.map((definition) => [definition.name, createHttpJsonAdapter(definition)]));
  return {
    adapters,
    names: [...adapters.keys()],
    simulated,
    stop: async () => simulated?.stop(),
  };
}
