import { context, trace, type Span } from '@opentelemetry/api';
import { OBSERVED_TRIGGERS, type RunTrigger } from '../shared/contract.js';
import type { RunEngine } from './engine.js';
import { finishRun } from './finishRun.js';
import { scrapePlatform, type PlatformResult, type RunProgress } from './scrapePlatform.js';

export interface RunToExecute {
  id: number;
  trigger: RunTrigger;
  platforms: string[];
}

/**
 * The runner: pending -> running, platforms scraped concurrently up to SCRAPE_CONCURRENCY, heartbeat
 * while alive, and the final status by compare-and-set. For observed runs the connection guard is asked
 * between platforms (never after the last one): once the run is lost, platforms in flight finish and
 * are saved, the rest never start, and the run ends `connection_failed`.
 */
export async function executeRun(engine: RunEngine, run: RunToExecute, span: Span, controller: AbortController): Promise<void> {
  await context.with(trace.setSpan(context.active(), span), async () => {
    const log = engine.logger.child({ run_id: run.id, trigger: run.trigger });
    if (!(await engine.runs.markRunning(run.id))) {
      log.info('run ended before it could start');
      return;
    }
    const started = await engine.runs.summaryOf(run.id);
    await engine.events.record(run.id, 'run.started', { runId: run.id, platformsDone: 0, platformsTotal: run.platforms.length, run: started! });
    log.info({ platforms: run.platforms }, 'run started');

    const observed = (OBSERVED_TRIGGERS as readonly string[]).includes(run.trigger);
    if (observed) engine.guard.track(run.id);
    const heartbeat = startHeartbeat(engine, run.id, controller);
    try {
      const progress: RunProgress = {
        runId: run.id,
        runSpan: span,
        signal: controller.signal,
        platformsTotal: run.platforms.length,
        platformsDone: 0,
      };
      const queue = [...run.platforms];
      const results: PlatformResult[] = [];
      let lostAt: { unwatchedMs: number } | null = null;

      const worker = async () => {
        while (queue.length > 0 && !controller.signal.aborted && !lostAt) {
          if (observed && engine.guard.isLost(run.id)) {
            lostAt = { unwatchedMs: engine.guard.unwatchedMs(run.id) };
            span.addEvent('connection.lost', { unwatched_ms: lostAt.unwatchedMs, platforms_not_started: queue.length });
            break;
          }
          const name = queue.shift()!;
          results.push(await scrapePlatform(engine, engine.platforms.adapters.get(name)!, progress));
        }
      };
      const workers = Math.min(engine.config.scrapeConcurrency, run.platforms.length);
      await Promise.all(Array.from({ length: workers }, worker));

      if (controller.signal.aborted) return; // ended elsewhere (watchdog, shutdown): their transition won
      const succeeded = results.filter((result) => result.outcome === 'completed').map((result) => result.platform);
      const failed = results.filter((result) => result.outcome !== 'completed' && result.outcome !== 'not_started').map((result) => result.platform);
      if (lostAt) {
        const done = new Set([...succeeded, ...failed]);
        await finishRun(engine, run.id, 'connection_failed', 'connection_lost', {
          actor: 'connection_guard',
          details: {
            platforms_done: [...done],
            platforms_not_done: run.platforms.filter((name) => !done.has(name)),
            unwatched_ms: (lostAt as { unwatchedMs: number }).unwatchedMs,
          },
        });
      } else if (failed.length === 0) {
        await finishRun(engine, run.id, 'completed', null, { actor: 'runner' });
      } else if (succeeded.length === 0) {
        await finishRun(engine, run.id, 'failed', 'all_platforms_failed', { actor: 'runner', details: { platforms_failed: failed } });
      } else {
        await finishRun(engine, run.id, 'partial', null, { actor: 'runner', details: { platforms_failed: failed } });
      }
    } finally {
      clearInterval(heartbeat);
      engine.guard.untrack(run.id);
    }
  });
}

/** Advances heartbeat_at while the run lives; a heartbeat that finds the run ended elsewhere stops the runner. */
function startHeartbeat(engine: RunEngine, runId: number, controller: AbortController): NodeJS.Timeout {
  const timer = setInterval(() => {
    engine.runs
      .heartbeat(runId)
      .then((alive) => {
        if (!alive && !controller.signal.aborted) {
          engine.logger.warn({ run_id: runId }, 'run was ended elsewhere; stopping its runner');
          controller.abort(new Error('run ended elsewhere'));
        }
      })
      .catch((error: unknown) => engine.logger.error({ run_id: runId, err: error }, 'heartbeat failed'));
  }, engine.config.heartbeatIntervalMs);
  timer.unref();
  return timer;
}
