/**
 * Why a runner was stopped when this process stopped owning its run (its liveness lock was lost): its steps
 * are left running, for whichever replica takes the run over to scrape again (takeOverRun.ts).
 */
export class OwnershipLost extends Error {}

/** Whether `signal` was aborted because this process stopped owning the run. */
export const ownershipLost = (signal: AbortSignal): boolean => signal.aborted && signal.reason instanceof OwnershipLost;

/**
 * The runs this process executes, by id: how to stop each and when it is done. The only owner of that
 * state: startRun registers a run, the entry leaves by itself when its runner is done, finishRun stops
 * a runner whose run it ended, and shutdown waits for them.
 */
export class InFlightRuns {
  private readonly runs = new Map<number, { controller: AbortController; done: Promise<void> }>();

  /** Registers a runner; `done` settles when the runner and its span are finished (never rejects). */
  add(runId: number, controller: AbortController, done: Promise<void>): void {
    this.runs.set(runId, { controller, done });
    void done.finally(() => this.runs.delete(runId));
  }

  has(runId: number): boolean {
    return this.runs.has(runId);
  }

  /**
   * Stops the runner of a run that was ended elsewhere (or, with an OwnershipLost reason, that this process
   * no longer owns); false (a no-op) for a run this process does not execute or already stopped.
   */
  abort(runId: number, reason: string | OwnershipLost): boolean {
    const run = this.runs.get(runId);
    if (!run || run.controller.signal.aborted) return false;
    run.controller.abort(reason instanceof OwnershipLost ? reason : new Error(reason));
    return true;
  }

  /** Settles when this process's runner of `runId` is done (at once when it has none). */
  async settled(runId: number): Promise<void> {
    await this.runs.get(runId)?.done;
  }

  /** Ids and completion of every run in flight (shutdown). */
  list(): { runId: number; done: Promise<void> }[] {
    return [...this.runs].map(([runId, run]) => ({ runId, done: run.done }));
  }
}
