import { ref } from 'vue';
import type { RunDetail } from '@contract';
import { api, errorMessage, isApiError } from '@/api/client';
import { localRunEvent, localRunFinishedEvent } from '@/lib/localEvents';
import { useEventAppliers } from '@/stores/eventAppliers';
import { useLiveStream } from './liveStream';
import { useActiveRunStore } from '@/stores/activeRun';
import { useRunsStore } from '@/stores/runs';
import { useSchedulerStore } from '@/stores/scheduler';
import { useToastsStore } from '@/stores/toasts';

/** Starting and cancelling runs from the UI (Scrape now, Retry, scheduler Run now, Cancel), with the 409 cases handled. */
export function useRunActions() {
  const runs = useRunsStore();
  const active = useActiveRunStore();
  const stream = useLiveStream();
  const scheduler = useSchedulerStore();
  const toasts = useToastsStore();
  const starting = ref(false);
  const cancelling = ref(false);
  const applyEvent = useEventAppliers();

  /** A run the server just created: show it live, and list it (local change through applyEvent). */
  function show(run: RunDetail) {
    active.follow(run);
    runs.applyEvent(localRunEvent(run));
  }

  async function followActive(activeRunId: number | null) {
    if (activeRunId != null) await active.followById(activeRunId);
    else await active.refresh();
    const id = active.run?.id ?? activeRunId;
    toasts.push({
      kind: 'info',
      message: id != null ? `Run #${id} is already in progress; showing it.` : 'A run is already in progress.',
      link: id != null ? { to: `/runs/${id}`, label: `Open run #${id}` } : undefined,
    });
  }

  /**
   * "Scrape now". Observed (`api-stream`) while our live stream is connected, since that stream is what watches
   * the run; while it is down, an observed run would only end as `connection_failed`, so the run is started
   * unobserved (`api`) instead.
   */
  async function scrapeNow(): Promise<RunDetail | null> {
    if (starting.value) return null;
    starting.value = true;
    try {
      const run = await api.startRun({ observe: stream.state.value === 'connected' });
      show(run);
      toasts.push({ kind: 'success', message: `Started run #${run.id}.`, link: { to: `/runs/${run.id}`, label: 'Details' } });
      return run;
    } catch (e) {
      if (isApiError(e, 'run_active')) await followActive(e.detailNumber('activeRunId'));
      else toasts.push({ kind: 'error', message: `Could not start a run: ${errorMessage(e)}` });
      return null;
    } finally {
      starting.value = false;
    }
  }

  /** Manual retry of a `connection_failed` run (the server allows one retry per run). */
  async function retry(lostRunId: number): Promise<number | null> {
    if (starting.value) return null;
    starting.value = true;
    try {
      const run = await api.startRun({ retryOf: lostRunId });
      show(run);
      toasts.push({
        kind: 'success',
        message: `Started retry run #${run.id} for run #${lostRunId}.`,
        link: { to: `/runs/${run.id}`, label: `Open run #${run.id}` },
      });
      return run.id;
    } catch (e) {
      if (isApiError(e, 'already_retried')) {
        const by = e.detailNumber('retriedBy');
        if (by != null) runs.setRetriedBy(lostRunId, by);
        toasts.push({
          kind: 'info',
          message: by != null ? `Run #${lostRunId} was already retried by run #${by}.` : `Run #${lostRunId} was already retried.`,
          link: by != null ? { to: `/runs/${by}`, label: `Open run #${by}` } : undefined,
        });
        return by;
      }
      if (isApiError(e, 'run_active')) await followActive(e.detailNumber('activeRunId'));
      else toasts.push({ kind: 'error', message: `Could not retry run #${lostRunId}: ${errorMessage(e)}` });
      return null;
    } finally {
      starting.value = false;
    }
  }

  /** Scheduler "Run now" for the scrape job. */
  async function runScrapeJobNow() {
    try {
      const result = await scheduler.runNow();
      if ('run' in result) {
        show(result.run);
        toasts.push({ kind: 'success', message: `Scheduled job started run #${result.run.id}.` });
      }
    } catch (e) {
      if (isApiError(e, 'run_active')) await followActive(e.detailNumber('activeRunId'));
      else toasts.push({ kind: 'error', message: `Could not run the job: ${errorMessage(e)}` });
    }
  }

  /** Cancel an active run (any replica ends it; the one running it stops its platforms within seconds). */
  async function cancel(runId: number): Promise<boolean> {
    if (cancelling.value) return false;
    cancelling.value = true;
    try {
      const run = await api.cancelRun(runId);
      if (run.status === 'cancelled') applyEvent(localRunFinishedEvent({ ...run, status: run.status }));
      toasts.push({ kind: 'success', message: `Cancelled run #${runId}.` });
      return true;
    } catch (e) {
      if (isApiError(e, 'run_finished')) {
        toasts.push({ kind: 'info', message: `Run #${runId} had already ended.` });
        await runs.fetchDetail(runId);
      } else {
        toasts.push({ kind: 'error', message: `Could not cancel run #${runId}: ${errorMessage(e)}` });
      }
      return false;
    } finally {
      cancelling.value = false;
    }
  }

  return { starting, cancelling, scrapeNow, retry, cancel, runScrapeJobNow, show };
}
