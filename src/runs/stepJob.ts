import { context, ROOT_CONTEXT, type Span } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { boundRows } from '../db/boundStatement.js';
import { claimStep } from '../db/tables/platformSteps.js';
import type { Platforms } from '../platforms/registry.js';
import type { StepDelivery, StepJobData, WorkKind } from '../queue/stepQueue.js';
import type { PlatformKind } from '../shared/contract.js';
import { retryWrite } from './databaseRetry.js';
import { OwnershipLost, ownershipLost } from './inFlightRuns.js';
import type { LocalSteps } from './localSteps.js';
import { recordIfWithRetry } from './recordWithRetry.js';
import type { ScrapePool } from './scrapePool.js';
import { scrapePlatform, type ScrapePlatformDeps } from './scrapePlatform.js';

/**
 * Attempts of a step: the first, and one more when the replica scraping it dies (its job is delivered to
 * another). A step whose replica died at every attempt fails `interrupted`: a platform that kills the process
 * scraping it (a page that exhausts its memory) would otherwise take down replica after replica.
 */
export const STEP_ATTEMPTS = 2;

/** The kind of work (and queue) of a platform kind. */
export const workKindOf = (kind: PlatformKind): WorkKind => (kind === 'browser' ? 'browser' : 'http');

const propagator = new W3CTraceContextPropagator();

/** The run's trace context, carried in each step job (the step's span joins the run's trace wherever it runs). */
export function traceCarrier(): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagator.inject(context.active(), carrier, { set: (target, key, value) => (target[key] = value) });
  return carrier;
}

export interface StepJobDeps extends ScrapePlatformDeps {
  platforms: Pick<Platforms, 'adapters'>;
  /** This replica's scrape pool: its slots, and one scrape per platform at a time across replicas. */
  scrapePool: ScrapePool;
  steps: LocalSteps;
  /** The run's span when this replica owns the run (its step events go on it). */
  runSpanOf(runId: number): Span | undefined;
}

/**
 * One delivery of a step job on this replica: claims the step as the delivery's attempt, waits for its
 * platform's turn and a slot, and scrapes it inside the run's trace. Resolves when the step is done or had
 * nothing left to do (ended, its run ended, a later attempt holds it); rejects when this replica let the step
 * go (liveness lost, shutdown, the engine took the job back), so the job is delivered again. A delivery past
 * STEP_ATTEMPTS fails the step `interrupted` instead.
 */
export async function runStepJob(deps: StepJobDeps, delivery: StepDelivery): Promise<void> {
  const { runId, platform } = delivery.data;
  const { attempt } = delivery;
  const log = deps.logger.child({ run_id: runId, platform, attempt });
  if (attempt > STEP_ATTEMPTS) return failInterrupted(deps, delivery.data, log);
  const adapter = deps.platforms.adapters.get(platform);
  // Another replica may have it configured; after the attempts the step fails `interrupted` with a log saying why.
  if (!adapter) throw new Error(`platform ${platform} is not configured on replica ${deps.ownerId}`);

  const claimed = await retryWrite(() => claimStep(deps.orm, runId, platform, deps.ownerId, attempt));
  if (!claimed) {
    log.debug('step job has nothing left to do: the step or its run ended, or a later attempt holds it');
    return;
  }
  if (attempt > 1) {
    deps.metrics.stepRetried(adapter.kind);
    log.warn('step scraped again here: the replica scraping it stopped');
  }
  const controller = new AbortController();
  const onTakenBack = () => controller.abort(new OwnershipLost('the queue delivered the step job to another replica'));
  delivery.signal.addEventListener('abort', onTakenBack, { once: true });
  const done = deps.steps.add(runId, controller);
  try {
    const parent = propagator.extract(ROOT_CONTEXT, delivery.data.trace, { get: (carrier, key) => carrier[key], keys: (carrier) => Object.keys(carrier) });
    const result = await context.with(parent, () =>
      deps.scrapePool.run(
        platform,
        () => {
          deps.metrics.slotWaited(adapter.kind, Math.max(0, (Date.now() - delivery.queuedAt.getTime()) / 1000));
          return scrapePlatform(deps, adapter, { runId, runSpan: deps.runSpanOf(runId), signal: controller.signal, platformsTotal: claimed.platformsTotal, platformsDone: claimed.platformsDone, attempt });
        },
        controller.signal,
      ),
    );
    // Let go before it ended (started or not): the job goes back to the queue for its next delivery.
    if (ownershipLost(controller.signal) && result.outcome !== 'completed' && result.outcome !== 'failed' && result.outcome !== 'timeout') throw controller.signal.reason as Error;
  } finally {
    delivery.signal.removeEventListener('abort', onTakenBack);
    done();
  }
}

async function failInterrupted(deps: StepJobDeps, job: StepJobData, log: StepJobDeps['logger']): Promise<void> {
  if (await failStepInterrupted(deps, job.runId, job.platform, `interrupted: the replica scraping it stopped at each of its ${STEP_ATTEMPTS} attempts`)) {
    log.warn({ attempts: STEP_ATTEMPTS }, 'step failed interrupted: its replica stopped at each attempt');
  }
}

/** Fails a step `interrupted` with its `platform.failed` event, unless it had ended; true when it did now. */
export async function failStepInterrupted(deps: Pick<StepJobDeps, 'orm' | 'events' | 'logger'>, runId: number, platform: string, error: string): Promise<boolean> {
  const [run] = await retryWrite(() => boundRows<{ total: number }>(deps.orm, 'select cardinality(platforms) as total from runs where id = ?', [runId]));
  const event = await recordIfWithRetry(
    deps,
    runId,
    'platform.failed',
    { runId, platform, eventsFound: 0, elapsedMs: 0, durationMs: 0, platformsDone: 0, platformsTotal: Number(run?.total ?? 0), attempt: STEP_ATTEMPTS, error, reason: 'interrupted', captured: false },
    { kind: 'step.interrupted', platform, error },
  );
  return event !== undefined;
}
