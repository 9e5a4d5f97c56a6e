import { settlesWithin } from '../shared/timeout.js';
import { finishRun, type FinishRunDeps } from './finishRun.js';

/**
 * Graceful shutdown of the runs this process executes: each gets up to `graceMs` to finish; one still
 * running then is failed with failure_reason `interrupted` (which aborts its platforms). Resolves when
 * every runner, and its span, is done.
 */
export async function stopRuns(deps: FinishRunDeps & { ownerId: string }, graceMs: number): Promise<void> {
  await Promise.all(
    deps.inFlight.list().map(async ({ runId, done }) => {
      if (await settlesWithin(done, graceMs)) return;
      await finishRun(deps, runId, 'failed', 'interrupted', {
        actor: 'shutdown',
        owner: deps.ownerId,
        from: ['pending', 'running'],
        details: { shutdown_grace_ms: graceMs },
      });
      await done;
    }),
  );
}
