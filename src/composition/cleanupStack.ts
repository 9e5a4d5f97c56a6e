import type { Logger } from 'pino';
import { settlesWithin } from '../shared/timeout.js';

/** How long one shutdown step may take before shutdown goes on without it. */
const CLEANUP_DEADLINE_MS = 10_000;

/**
 * What shutdown undoes, pushed as each piece starts and run in reverse: the last piece started is the
 * first stopped. Each step gets a deadline, so a dependency that died first (the database, say) cannot
 * hang the exit; a step that fails or overruns is logged and shutdown goes on.
 */
export class CleanupStack {
  private readonly steps: (() => Promise<unknown>)[] = [];

  constructor(private readonly logger: Logger) {}

  push(step: () => Promise<unknown>): void {
    this.steps.push(step);
  }

  /** Runs every step pushed so far, newest first, each once. */
  async closeAll(): Promise<void> {
    for (const step of this.steps.reverse()) {
      const done = step().catch((error: unknown) => this.logger.error({ err: error }, 'shutdown step failed'));
      if (!(await settlesWithin(done, CLEANUP_DEADLINE_MS))) {
        this.logger.error({ step: step.name || 'anonymous' }, `shutdown step did not finish in ${CLEANUP_DEADLINE_MS / 1_000} s; going on`);
      }
    }
    this.steps.length = 0;
  }
}
