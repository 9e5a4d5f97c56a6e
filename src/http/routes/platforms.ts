import { createRoute, z } from '@hono/zod-openapi';
import { AppError } from '../../errors.js';
import type { ScrapedSelection } from '../../platforms/adapter.js';
import { PlatformEntryError } from '../../platforms/platformsFile.js';
import { previewPlatform } from '../../platforms/previewPlatform.js';
import type { Platforms } from '../../platforms/registry.js';
import type { PlatformLastStep } from '../../runs/platformLastSteps.js';
import type { PlatformHealth, PlatformInfo, PlatformPreview } from '../../shared/contract.js';
import { errorResponses, JSON_BODY, MUTATING, OPERATOR_ONLY, USES_DATABASE } from '../openapi.js';
import { openapiWithJsonBody, validatedRoutes } from '../validation.js';

const NO_SCRAPES: PlatformHealth = { recentOutcomes: [], recentFailures: 0, failureRate: null, lastError: null };

const platformsRoute = createRoute({
  method: 'get',
  path: '/',
  summary: 'Configured platforms with their kind, last outcome, last success, health and quota',
  responses: { 200: { description: '{ items: PlatformInfo[] }' }, ...errorResponses(USES_DATABASE) },
});

const previewBody = z.record(z.string(), z.unknown()).openapi({ description: 'one entry as it would stand in PLATFORMS_FILE (secrets as { "env": "NAME" }, read from the service environment)' });

/** The preview's path under /api (app.ts keeps the request database deadline off it: it scrapes for up to 30 s). */
export const PREVIEW_PATH = '/api/platforms/preview';

const previewRoute = createRoute({
  method: 'post',
  path: '/preview',
  summary: "Scrape the first page of a PLATFORMS_FILE entry and answer what a run would store, storing nothing (one preview at a time per replica)",
  security: OPERATOR_ONLY,
  request: { body: { content: { 'application/json': { schema: previewBody } } } },
  responses: { 200: { description: 'PlatformPreview (ok: false with the reason when the platform failed)' }, ...errorResponses(USES_DATABASE, MUTATING, JSON_BODY) },
});

export interface PlatformRoutesDeps {
  platforms: Pick<Platforms, 'adapters'> & Partial<Pick<Platforms, 'browsers'>>;
  lastSteps(): Promise<PlatformLastStep[]>;
  /** The request quota a platform's API last reported on this replica (null: none). */
  quotaRemaining(platform: string): number | null;
  preview: {
    /** PLATFORM_TIMEOUT_MS: an entry's timeout when it sets none. */
    defaultTimeoutMs: number;
    /** Where an entry's `{ "env": "NAME" }` secrets are read from. */
    env: Record<string, string | undefined>;
    /** Matching against the stored sporting events; absent: `matchedExisting` is null. */
    countMatchedExisting?(selections: readonly ScrapedSelection[]): Promise<number>;
  };
}

export function createPlatformRoutes({ platforms, lastSteps, quotaRemaining, preview }: PlatformRoutesDeps) {
  const app = validatedRoutes();
  // One preview at a time on this replica: the others wait their turn (a preview ends within PREVIEW_MAX_MS,
  // and one whose client left ends as soon as its turn comes).
  let line: Promise<unknown> = Promise.resolve();
  const inTurn = <T>(work: () => Promise<T>): Promise<T> => {
    const turn = line.then(work);
    line = turn.catch(() => undefined);
    return turn;
  };
  openapiWithJsonBody(app, previewRoute, async (c) => {
    const entry = c.req.valid('json');
    const signal = c.req.raw.signal;
    try {
      const answer = await inTurn(() =>
        previewPlatform({
          entry,
          defaultTimeoutMs: preview.defaultTimeoutMs,
          ...(platforms.browsers ? { browsers: platforms.browsers } : {}),
          env: preview.env,
          signal,
          countMatchedExisting: preview.countMatchedExisting,
          onUnexpected: (error) => c.get('logger').error({ err: error }, 'platform preview failed unexpectedly'),
        }),
      );
      return c.json<PlatformPreview>(answer);
    } catch (error) {
      if (error instanceof PlatformEntryError) throw new AppError('invalid_request', 400, error.message);
      // The client left: nobody reads this, and it is no error of the service's.
      if (signal.aborted) throw new AppError('bad_request', 400, 'the client left before the preview ended');
      throw error;
    }
  });
  return app.openapi(platformsRoute, async (c) => {
    const byPlatform = new Map((await lastSteps()).map((step) => [step.platform, step]));
    const items: PlatformInfo[] = [...platforms.adapters.values()].map((adapter) => {
      const last = byPlatform.get(adapter.name);
      return {
        name: adapter.name,
        kind: adapter.kind,
        baseUrl: adapter.baseUrl,
        timeoutMs: adapter.timeoutMs,
        lastOutcome: last?.status ?? null,
        lastRunId: last?.runId ?? null,
        lastFinishedAt: last?.finishedAt.toISOString() ?? null,
        lastSuccessAt: last?.lastSuccessAt?.toISOString() ?? null,
        lastEventsFound: last?.eventsFound ?? null,
        quotaRemaining: quotaRemaining(adapter.name),
        ...(last?.health ?? NO_SCRAPES),
      };
    });
    return c.json({ items });
  });
}
