import { ROOT_CONTEXT, SpanKind, type SpanContext } from '@opentelemetry/api';
import { isUniqueViolation } from '../db/pgErrors.js';
import { AppError, notFound } from '../errors.js';
import type { RunDetail, RunTrigger } from '../shared/contract.js';
import { currentTraceId, recordFailure, tracer } from '../telemetry/tracing.js';
import type { RunEngine } from './engine.js';
import { executeRun } from './executeRun.js';

export interface StartRunRequest {
  trigger: Exclude<RunTrigger, 'retry'>;
  platforms?: string[];
  /** Makes a `retry` run of this `connection_failed` run (once only). */
  retryOf?: number;
  /** The request that started the run: the run's own trace links to it. */
  requestSpan?: SpanContext;
}

/**
 * Creates a run (409 while another is active, enforced by the database) and starts its runner in the
 * background. The run gets its own trace, `scrape.run`, whose id is stored on the run.
 */
export async function startRun(engine: RunEngine, request: StartRunRequest): Promise<RunDetail> {
  const { trigger, platforms, retryOf } = await resolveRequest(engine, request);
  const span = tracer.startSpan(
    'scrape.run',
    {
      kind: SpanKind.INTERNAL,
      root: true,
      links: request.requestSpan ? [{ context: request.requestSpan, attributes: { 'oddswatch.link': 'started_by_request' } }] : [],
      attributes: {
        'oddswatch.run.trigger': trigger,
        'oddswatch.run.platform_count': platforms.length,
        ...(retryOf ? { 'oddswatch.run.retry_of': retryOf } : {}),
      },
    },
    ROOT_CONTEXT,
  );

  let runId: number;
  try {
    runId = await engine.runs.insertRun({ trigger, platforms, retryOf: retryOf ?? null, ownerId: engine.ownerId, traceId: currentTraceId(span) });
  } catch (error) {
    const conflict = await conflictFor(engine, error, retryOf);
    recordFailure(span, error, conflict?.message ?? 'run not created');
    span.end();
    throw conflict ?? error;
  }
  span.setAttribute('oddswatch.run.id', runId);

  const controller = new AbortController();
  let created: RunDetail;
  try {
    created = (await engine.runs.detailOf(runId))!;
    await engine.events.record(runId, 'run.created', { runId, platformsDone: 0, platformsTotal: platforms.length, run: created });
    engine.logger.info({ run_id: runId, trigger, platforms, retry_of: retryOf ?? null, trace_id: created.traceId }, 'run created');
  } catch (error) {
    // Never leave a pending run without a runner: it would block every other run until the watchdog.
    await engine.runs.finish(runId, 'failed', 'interrupted', ['pending']).catch(() => null);
    recordFailure(span, error);
    span.end();
    throw error;
  }

  const done = executeRun(engine, { id: runId, trigger, platforms }, span, controller)
    .catch((error: unknown) => {
      // The database failing mid-run: the run stays active until the watchdog or start-up recovery ends it.
      engine.logger.error({ run_id: runId, err: error }, 'runner crashed');
      recordFailure(span, error);
      span.end();
    })
    .finally(() => engine.inFlight.delete(runId));
  engine.inFlight.set(runId, { controller, span, done });
  return created;
}

async function resolveRequest(engine: RunEngine, request: StartRunRequest) {
  const known = engine.platforms.names;
  if (request.retryOf === undefined) {
    const platforms = request.platforms?.length ? [...new Set(request.platforms)] : known;
    const unknown = platforms.filter((name) => !engine.platforms.adapters.has(name));
    if (unknown.length) {
      throw new AppError('unknown_platform', 400, `unknown platform: ${unknown.join(', ')}`, { unknown, known });
    }
    return { trigger: request.trigger as RunTrigger, platforms, retryOf: undefined };
  }
  const original = await engine.runs.summaryOf(request.retryOf);
  if (!original) throw notFound(`run ${request.retryOf}`);
  if (original.status !== 'connection_failed') {
    throw new AppError('not_retryable', 400, `run ${original.id} is ${original.status}; only connection_failed runs can be retried`, {
      status: original.status,
    });
  }
  if (original.retriedBy !== null) {
    throw new AppError('already_retried', 409, `run ${original.id} was already retried by run ${original.retriedBy}`, { retriedBy: original.retriedBy });
  }
  const platforms = original.platforms.filter((name) => engine.platforms.adapters.has(name));
  if (platforms.length === 0) throw new AppError('unknown_platform', 400, 'none of the platforms of that run is configured any more');
  return { trigger: 'retry' as const, platforms, retryOf: original.id };
}

async function conflictFor(engine: RunEngine, error: unknown, retryOf: number | undefined): Promise<AppError | undefined> {
  if (isUniqueViolation(error, 'runs_one_active_unique')) {
    const activeRunId = await engine.runs.activeRunId();
    return new AppError('run_active', 409, `run ${activeRunId ?? '?'} is already active`, { activeRunId });
  }
  if (isUniqueViolation(error, 'runs_retry_of_unique') && retryOf !== undefined) {
    const original = await engine.runs.summaryOf(retryOf);
    return new AppError('already_retried', 409, `run ${retryOf} was already retried`, { retriedBy: original?.retriedBy ?? null });
  }
  return undefined;
}
