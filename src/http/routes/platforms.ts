import { createRoute, z } from '@hono/zod-openapi';
import { AppError } from '../../errors.js';
import type { ScrapedSelection } from '../../platforms/adapter.js';
import { PlatformEntryError } from '../../platforms/platformsFile.js';
import { previewPlatform } from '../../platforms/previewPlatform.js';
import type { Platforms } from '../../platforms/registry.js';
import type { PlatformLastStep } from '../../runs/platformLastSteps.js';
import type { JudgePlatformQuality } from '../../liveState/platformQuality.js';
import type { PlatformHealth, PlatformInfo, PlatformPreview } from '../../shared/contract.js';
import { errorResponses, JSON_BODY, MUTATING, OPERATOR_ONLY, USES_DATABASE } from '../openapi.js';
import { openapiWithJsonBody, validatedRoutes } from '../validation.js';

/** How long a preview of a configured platform waits for that platform's scrape by a run to end before it answers 409 platform_busy. */
export const PREVIEW_TURN_WAIT_MS = 5_000;

const NO_SCRAPES: PlatformHealth = { recentOutcomes: [], recentFailures: 0, failureRate: null, lastError: null };

const platformsRoute = createRoute({
  method: 'get',
  path: '/',
  summary: 'Configured platforms with their kind, last outcome, last success, health, quota and data quality at a glance',
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
  responses: {
    200: { description: 'PlatformPreview (ok: false with the reason when the platform failed)' },
    ...errorResponses(USES_DATABASE, MUTATING, JSON_BODY, { 409: ['platform_busy'] }),
  },
});

export interface PlatformRoutesDeps {
  platforms: Pick<Platforms, 'adapters'> & Partial<Pick<Platforms, 'browsers'>>;
  lastSteps(): Promise<PlatformLastStep[]>;
  /** The request quota a platform's API last reported on this replica (null: none). */
  quotaRemaining(platform: string): number | null;
  /** Reads each platform's data quality at a glance, judged once its last success is known; absent: QUALITY_CHECKS is off (`quality` null). */
  quality?(): Promise<JudgePlatformQuality>;
  preview: {
    /** PLATFORM_TIMEOUT_MS: an entry's timeout when it sets none. */
    defaultTimeoutMs: number;
    /** Where an entry's `{ "env": "NAME" }` secrets are read from. */
    env: Record<string, string | undefined>;
    /** Matching against the stored sporting events; absent: `matchedExisting` is null. */
    countMatchedExisting?(selections: readonly ScrapedSelection[]): Promise<number>;
    /**
     * Takes a configured platform's turn (one scrape per platform at a time across replicas, its request
     * spacing kept): resolves with its release, or at once without the turn once `signal` aborts.
     */
    takePlatform?(platform: string, signal: AbortSignal): Promise<() => Promise<void>>;
  };
}

export function createPlatformRoutes({ platforms, lastSteps, quotaRemaining, quality, preview }: PlatformRoutesDeps) {
  const app = validatedRoutes();
  // One preview at a time on this replica: the others wait their turn (a preview ends within PREVIEW_MAX_MS,
  // and one whose client left ends as soon as its turn comes).
  let line: Promise<unknown> = Promise.resolve();
  const inTurn = <T>(work: () => Promise<T>): Promise<T> => {
    const turn = line.then(work);
    line = turn.catch(() => undefined);
    return turn;
  };
  // A preview of a configured platform is a request to it like a step's: it waits for the platform's turn.
  const inPlatformTurn = async <T>(entry: Record<string, unknown>, signal: AbortSignal, work: () => Promise<T>): Promise<T> => {
    const name = entry.name;
    if (!preview.takePlatform || typeof name !== 'string' || !platforms.adapters.has(name)) return work();
    const waiting = AbortSignal.any([signal, AbortSignal.timeout(PREVIEW_TURN_WAIT_MS)]);
    const release = await preview.takePlatform(name, waiting);
    try {
      if (waiting.aborted && !signal.aborted) {
        throw new AppError('platform_busy', 409, `${name} is being scraped by a run now; preview it again once that scrape ends`);
      }
      return await work();
    } finally {
      await release();
    }
  };
  openapiWithJsonBody(app, previewRoute, async (c) => {
    const entry = c.req.valid('json');
    const signal = c.req.raw.signal;
    try {
      const answer = await inTurn(() =>
        inPlatformTurn(entry, signal, () =>
          previewPlatform({
            entry,
            defaultTimeoutMs: preview.defaultTimeoutMs,
            ...(platforms.browsers ? { browsers: platforms.browsers } : {}),
            env: preview.env,
            signal,
            countMatchedExisting: preview.countMatchedExisting,
            onUnexpected: (error) => c.get('logger').error({ err: error }, 'platform preview failed unexpectedly'),
          }),
        ),
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
    const [steps, judgeQuality] = await Promise.all([lastSteps(), quality?.()]);
    const byPlatform = new Map(steps.map((step) => [step.platform, step]));
    const qualities = judgeQuality?.((platform) => byPlatform.get(platform)?.lastSuccessAt ?? null) ?? null;
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
        quality: qualities?.get(adapter.name) ?? null,
        ...(last?.health ?? NO_SCRAPES),
      };
    });
    return c.json({ items });
  });
}
