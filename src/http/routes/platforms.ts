import { Hono } from 'hono';
import type { RunEngine } from '../../runs/engine.js';
import type { PlatformInfo } from '../../shared/contract.js';
import type { AppEnv } from '../appEnv.js';

export function createPlatformRoutes({ engine }: { engine: RunEngine }) {
  return new Hono<AppEnv>().get('/', async (c) => {
    const outcomes = new Map((await engine.runs.platformOutcomes()).map((outcome) => [outcome.platform, outcome]));
    const items: PlatformInfo[] = [...engine.platforms.adapters.values()].map((adapter) => {
      const last = outcomes.get(adapter.name);
      return {
        name: adapter.name,
        baseUrl: adapter.baseUrl,
        timeoutMs: adapter.timeoutMs,
        lastOutcome: last?.status ?? null,
        lastRunId: last?.runId ?? null,
        lastFinishedAt: last?.finishedAt.toISOString() ?? null,
        lastSuccessAt: last?.lastSuccessAt?.toISOString() ?? null,
        lastEventsFound: last?.eventsFound ?? null,
      };
    });
    return c.json({ items });
  });
}
