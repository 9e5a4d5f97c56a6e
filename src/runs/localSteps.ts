/**
 * The steps this replica is scraping now, by run: how to stop each. The only owner of that state: a step
 * job registers its step while it scrapes; a run ended anywhere stops its steps here (run.finished on the
 * bus), a lost liveness lock or a shutdown lets them all go (their jobs are delivered to another replica).
 */
export class LocalSteps {
  private readonly byRun = new Map<number, Set<AbortController>>();
  private idle: (() => void)[] = [];

  /** Registers a step of `runId`; call the returned function when it is done. */
  add(runId: number, controller: AbortController): () => void {
    const steps = this.byRun.get(runId) ?? new Set<AbortController>();
    steps.add(controller);
    this.byRun.set(runId, steps);
    return () => {
      steps.delete(controller);
      if (steps.size === 0 && this.byRun.get(runId) === steps) this.byRun.delete(runId);
      if (this.count === 0) for (const resolve of this.idle.splice(0)) resolve();
    };
  }

  /** Steps scraping now. */
  get count(): number {
    let total = 0;
    for (const steps of this.byRun.values()) total += steps.size;
    return total;
  }

  /** Stops this replica's steps of `runId`; how many it stopped. */
  abortRun(runId: number, reason: Error): number {
    let stopped = 0;
    for (const controller of this.byRun.get(runId) ?? []) {
      if (controller.signal.aborted) continue;
      controller.abort(reason);
      stopped += 1;
    }
    return stopped;
  }

  /** Stops every step here. */
  abortAll(reason: Error): number {
    let stopped = 0;
    for (const runId of [...this.byRun.keys()]) stopped += this.abortRun(runId, reason);
    return stopped;
  }

  /** Resolves once no step is scraping here, or after `timeoutMs`: true when idle. */
  async settled(timeoutMs: number): Promise<boolean> {
    if (this.count === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    const idle = new Promise<boolean>((resolve) => this.idle.push(() => resolve(true)));
    const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    try {
      return await Promise.race([idle, late]);
    } finally {
      clearTimeout(timer);
    }
  }
}
