/**
 * At most one run of an async task at a time (no Node or DOM APIs: the dashboard imports it too).
 *
 * `run()` while idle starts the task at once (synchronously, up to its first await). `run()` while a run is
 * in flight asks for exactly one more run after it: any number of such calls coalesce into that one, and
 * they get the promise of the whole series, which settles when the last run asked for so far has finished.
 * A run that throws ends its series: the series' promise rejects with that error, a rerun asked for
 * meanwhile is dropped, and the next `run()` starts afresh.
 */
export interface SingleFlight {
  run(): Promise<void>;
  /** A run is in flight. */
  readonly running: boolean;
  /** One more run has been asked for after the one in flight (a task may then leave its finishing to it). */
  readonly rerunPending: boolean;
}

export function singleFlight(task: () => Promise<void>): SingleFlight {
  let series: Promise<void> | undefined;
  let again = false;

  async function runSeries(): Promise<void> {
    try {
      do {
        again = false;
        await task();
      } while (again);
    } finally {
      again = false;
      series = undefined;
    }
  }

  return {
    run() {
      if (series) {
        again = true;
        return series;
      }
      // Known as in flight before the task starts, so a call from the task itself asks for a rerun.
      let settle!: { resolve: () => void; reject: (error: unknown) => void };
      series = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
      const current = series;
      runSeries().then(settle.resolve, settle.reject);
      return current;
    },
    get running() {
      return series !== undefined;
    },
    get rerunPending() {
      return again;
    },
  };
}
