import type { SpanContext } from '@opentelemetry/api';
import { isUniqueViolation } from '../db/pgErrors.js';
import { AppError, notFound } from '../errors.js';
import type { RunDetail, RunTrigger } from '../shared/contract.js';
import { currentTraceId } from '../telemetry/tracing.js';
import { executeRun, type ExecuteRunDeps } from './executeRun.js';
import { withRunSpan } from './runSpan.js';

export interface StartRunDeps extends ExecuteRunDeps {
  /** This process's identity on the runs it owns (start-up recovery tells live owners from dead ones). */
  ownerId: string;
}

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
 * background; resolves once the run exists. The whole life of the run, creation included, happens in
 * its own trace (`scrape.run`, see runSpan.ts), whose id is stored on the run.
 */
export async function startRun(deps: StartRunDeps, request: StartRunRequest): Promise<RunDetail> {
  const { trigger, platforms, retryOf } = await resolveRequest(deps, request);
  const controller = new AbortController();
  return new Promise<RunDetail>((resolve, reject) => {
    const done: Promise<void> = withRunSpan({ trigger, platformCount: platforms.length, retryOf, requestSpan: request.requestSpan }, async (span) => {
      const created = await createRun(deps, { trigger, platforms, retryOf: retryOf ?? null, traceId: currentTraceId(span) });
      span.setAttribute('oddswatch.run.id', created.id);
      // `done` is assigned: this line runs after createRun's first await.
      deps.inFlight.add(created.id, controller, done.catch(() => undefined));
      resolve(created);
      try {
        return await executeRun(deps, { id: created.id, trigger, platforms }, controller);
      } catch (error) {
        // The database failing mid-run: the run stays active until the watchdog or start-up recovery ends it.
        deps.logger.error({ run_id: created.id, err: error }, 'runner crashed');
        throw error;
      }
    });
    done.catch(reject); // before `resolve`: the run was not created; after it, a no-op (the crash is logged above)
  });
}

async function createRun(
  deps: StartRunDeps,
  run: { trigger: RunTrigger; platforms: string[]; retryOf: number | null; traceId: string | null },
): Promise<RunDetail> {
  let runId: number;
  try {
    runId = await deps.transitions.insertRun({ ...run, ownerId: deps.ownerId });
  } catch (error) {
    throw (await conflictFor(deps, error, run.retryOf)) ?? error;
  }
  try {
    const created = (await deps.reads.detailOf(runId))!;
    await deps.events.record(runId, 'run.created', { runId, platformsDone: 0, platformsTotal: run.platforms.length, run: created });
    deps.logger.info({ run_id: runId, trigger: run.trigger, platforms: run.platforms, retry_of: run.retryOf, trace_id: created.traceId }, 'run created');
    return created;
  } catch (error) {
    // Never leave a pending run without a runner: it would block every other run until the watchdog.
    await deps.transitions.finish(runId, 'failed', 'interrupted', ['pending']).catch(() => null);
    throw error;
  }
}

async function resolveRequest(deps: StartRunDeps, request: StartRunRequest) {
  const { adapters, names } = deps.platforms;
  if (request.retryOf === undefined) {
    const platforms = request.platforms?.length ? [...new Set(request.platforms)] : names;
    const unknown = platforms.filter((name) => !adapters.has(name));
    if (unknown.length) {
      throw new AppError('unknown_platform', 400, `unknown platform: ${unknown.join(', ')}`, { unknown, known: names });
    }
    return { trigger: request.trigger as RunTrigger, platforms, retryOf: undefined };
  }
  const original = await deps.reads.summaryOf(request.retryOf);
  if (!original) throw notFound(`run ${request.retryOf}`);
  if (original.status !== 'connection_failed') {
    throw new AppError('not_retryable', 400, `run ${original.id} is ${original.status}; only connection_failed runs can be retried`, {
      status: original.status,
    });
  }
  if (original.retriedBy !== null) {
    throw new AppError('already_retried', 409, `run ${original.id} was already retried by run ${original.retriedBy}`, { retriedBy: original.retriedBy });
  }
  const platforms = original.platforms.filter((name) => adapters.has(name));
  if (platforms.length === 0) throw new AppError('unknown_platform', 400, 'none of the platforms of that run is configured any more');
  return { trigger: 'retry' as const, platforms, retryOf: original.id };
}

async function conflictFor(deps: StartRunDeps, error: unknown, retryOf: number | null): Promise<AppError | undefined> {
  if (isUniqueViolation(error, 'runs_one_active_unique')) {
    const activeRunId = await deps.reads.activeRunId();
    return new AppError('run_active', 409, `run ${activeRunId ?? '?'} is already active`, { activeRunId });
  }
  if (isUniqueViolation(error, 'runs_retry_of_unique') && retryOf !== null) {
    const original = await deps.reads.summaryOf(retryOf);
    return new AppError('already_retried', 409, `run ${retryOf} was already retried`, { retriedBy: original?.retriedBy ?? null });
  }
  return undefined;
}
