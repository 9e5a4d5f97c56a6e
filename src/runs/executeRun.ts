import { trace } from '@opentelemetry/api';
import type { Config } from '../config.js';
import type { Platforms } from '../platforms/registry.js';
import { OBSERVED_TRIGGERS, type RunSummary, type RunTrigger } from '../shared/contract.js';
import { finishRun, type FinishRunDeps } from './finishRun.js';
import { scrapePlatform, type PlatformResult, type RunProgress, type ScrapePlatformDeps } from './scrapePlatform.js';

export interface ExecuteRunDeps extends FinishRunDeps, ScrapePlatformDeps {
  platforms: Pick<Platforms, 'adapters' | 'names'>;
  config: Pick<Config, 'scrapeConcurrency' | 'heartbeatIntervalMs'>;
}

export interface RunToExecute {
  id: number;
  trigger: RunTrigger;
  platforms: string[];
}

/**
 * The runner, inside the run's span: pending -> running, platforms scraped concurrently up to
 * SCRAPE_CONCURRENCY, heartbeat while alive, and the final status by compare-and-set. For observed
 * runs the connection guard is asked between platforms (never after the last one): once the run is
 * lost, platforms in flight finish and are saved, the rest never start, and the run ends
 * `connection_failed`. Resolves to the run as it ended, whoever ended it.
 */
export async function executeRun(deps: ExecuteRunDeps, run: RunToExecute, controller: AbortController): Promise<RunSummary | null> {
  const log = deps.logger.child({ run_id: run.id, trigger: run.trigger });
  if (!(await deps.transitions.markRunning(run.id))) {
    log.info('run ended before it could start');
    return deps.reads.summaryOf(run.id);
  }
  const started = await deps.reads.summaryOf(run.id);
  await deps.events.record(run.id, 'run.started', { runId: run.id, platformsDone: 0, platformsTotal: run.platforms.length, run: started! });
  log.info({ platforms: run.platforms }, 'run started');

  const observed = (OBSERVED_TRIGGERS as readonly string[]).includes(run.trigger);
  if (observed) deps.guard.track(run.id);
  const heartbeat = startHeartbeat(deps, run.id, controller);
  try {
    const progress: RunProgress = { runId: run.id, runSpan: trace.getActiveSpan(), signal: controller.signal, platformsTotal: run.platforms.length, platformsDone: 0 };
    const queue = [...run.platforms];
    const results: PlatformResult[] = [];
    let lost: { unwatchedMs: number } | null = null;

    const worker = async () => {
      while (queue.length > 0 && !controller.signal.aborted && !lost) {
        if (observed && deps.guard.isLost(run.id)) {
          lost = { unwatchedMs: deps.guard.unwatchedMs(run.id) };
          trace.getActiveSpan()?.addEvent('connection.lost', { unwatched_ms: lost.unwatchedMs, platforms_not_started: queue.length });
          break;
        }
        const name = queue.shift()!;
        results.push(await scrapePlatform(deps, deps.platforms.adapters.get(name)!, progress));
      }
    };
    await Promise.all(Array.from({ length: Math.min(deps.config.scrapeConcurrency, run.platforms.length) }, worker));

    // Ended elsewhere (watchdog, shutdown, another process): their transition won.
    if (controller.signal.aborted) return await deps.reads.summaryOf(run.id);
    const ended = await finishByResults(deps, run, results, lost);
    return ended ?? (await deps.reads.summaryOf(run.id));
  } finally {
    clearInterval(heartbeat);
    deps.guard.untrack(run.id);
  }
}

/** The runner's own verdict; null when another actor ended the run first (the runner lost). */
function finishByResults(deps: ExecuteRunDeps, run: RunToExecute, results: PlatformResult[], lost: { unwatchedMs: number } | null) {
  const succeeded = results.filter((result) => result.outcome === 'completed').map((result) => result.platform);
  const failed = results.filter((result) => result.outcome !== 'completed' && result.outcome !== 'not_started').map((result) => result.platform);
  if (lost) {
    const done = new Set([...succeeded, ...failed]);
    return finishRun(deps, run.id, 'connection_failed', 'connection_lost', {
      actor: 'connection_guard',
      details: { platforms_done: [...done], platforms_not_done: run.platforms.filter((name) => !done.has(name)), unwatched_ms: lost.unwatchedMs },
    });
  }
  if (failed.length === 0) return finishRun(deps, run.id, 'completed', null, { actor: 'runner' });
  const details = { platforms_failed: failed };
  if (succeeded.length === 0) return finishRun(deps, run.id, 'failed', 'all_platforms_failed', { actor: 'runner', details });
  return finishRun(deps, run.id, 'partial', null, { actor: 'runner', details });
}

/** Advances heartbeat_at while the run lives; a heartbeat that finds the run ended elsewhere stops the runner. */
function startHeartbeat(deps: ExecuteRunDeps, runId: number, controller: AbortController): NodeJS.Timeout {
  const timer = setInterval(() => {
    deps.transitions
      .heartbeat(runId)
      .then((alive) => {
        if (!alive && !controller.signal.aborted) {
          deps.logger.warn({ run_id: runId }, 'run was ended elsewhere; stopping its runner');
          controller.abort(new Error('run ended elsewhere'));
        }
      })
      .catch((error: unknown) => deps.logger.error({ run_id: runId, err: error }, 'heartbeat failed'));
  }, deps.config.heartbeatIntervalMs);
  timer.unref();
  return timer;
}
