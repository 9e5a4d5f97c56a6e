import type { RunEngine } from './engine.js';
import { finishRun } from './finishRun.js';

/**
 * Graceful shutdown of the runs this process executes: each gets up to `graceMs` to finish; one still
 * running then is failed with failure_reason `interrupted` (which aborts its platforms).
 */
export async function stopRuns(engine: RunEngine, graceMs: number): Promise<void> {
  const runs = [...engine.inFlight.entries()];
  await Promise.all(
    runs.map(async ([runId, run]) => {
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        run.done.then(() => false),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(true), graceMs);
        }),
      ]);
      clearTimeout(timer);
      if (!timedOut) return;
      await finishRun(engine, runId, 'failed', 'interrupted', {
        actor: 'shutdown',
        from: ['pending', 'running'],
        details: { shutdown_grace_ms: graceMs },
      });
      await run.done;
    }),
  );
}
