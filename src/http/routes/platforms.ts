import { createRoute } from '@hono/zod-openapi';
import type { Platforms } from '../../platforms/registry.js';
import type { PlatformLastStep } from '../../runs/platformLastSteps.js';
import type { PlatformHealth, PlatformInfo } from '../../shared/contract.js';
import { errorResponses, USES_DATABASE } from '../openapi.js';
import { validatedRoutes } from '../validation.js';

const NO_SCRAPES: PlatformHealth = { recentOutcomes: [], recentFailures: 0, failureRate: null, lastError: null };

const platformsRoute = createRoute({
  method: 'get',
  path: '/',
  summary: 'Configured platforms with their last outcome, last success and health',
  responses: { 200: { description: '{ items: PlatformInfo[] }' }, ...errorResponses(USES_DATABASE) },
});

export interface PlatformRoutesDeps {
  platforms: Pick<Platforms, 'adapters'>;
  lastSteps(): Promise<PlatformLastStep[]>;
}

export function createPlatformRoutes({ platforms, lastSteps }: PlatformRoutesDeps) {
  return validatedRoutes().openapi(platformsRoute, async (c) => {
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
