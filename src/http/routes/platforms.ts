import { Hono } from 'hono';
import type { Platforms } from '../../platforms/registry.js';
import type { PlatformLastStep } from '../../runs/platformLastSteps.js';
import type { PlatformHealth, PlatformInfo } from '../../shared/contract.js';
import type { AppEnv } from '../appEnv.js';

const NO_SCRAPES: PlatformHealth = { recentOutcomes: [], recentFailures: 0, failureRate: null, lastError: null };

export interface PlatformRoutesDeps {
  platforms: Pick<Platforms, 'adapters'>;
  lastSteps(): Promise<PlatformLastStep[]>;
}

export function createPlatformRoutes({ platforms, lastSteps }: PlatformRoutesDeps) {
  return new Hono<AppEnv>().get('/', async (c) => {
    const byPlatform = new Map((await lastSteps()).map((step) => [step.platform, step]));
    const items: PlatformInfo[] = [...platforms.adapters.values()].map((adapter) => {
      const last = byPlatform.get(adapter.name);
      return {
        name: adapter.name,
        baseUrl: adapter.baseUrl,
        timeoutMs: adapter.timeoutMs,
        lastOutcome: last?.status ?? null,
        lastRunId: last?.runId ?? null,
        lastFinishedAt: last?.finishedAt.toISOString() ?? null,
        lastSuccessAt: last?.lastSuccessAt?.toISOString() ?? null,
        lastEventsFound: last?.eventsFound ?? null,
        ...(last?.health ?? NO_SCRAPES),
      };
    });
    return c.json({ items });
  });
}
