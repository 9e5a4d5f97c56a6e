import type { FailureReason, RunStatus, StepFailureReason, StepStatus, RunTrigger } from '@contract';

export type BadgeTone = 'neutral' | 'info' | 'success' | 'warning' | 'danger' | 'connection' | 'stopped';

export interface BadgeSpec {
  label: string;
  tone: BadgeTone;
  /** Longer wording for the title attribute / screen readers. */
  description: string;
}

/**
 * The one place a run status becomes words and a colour.
 * `connection_failed` is deliberately not a "Failed" variant: it reads "Connection lost" and gets its own tone
 * (dashed destructive border with a plug icon), so nobody confuses it with a scrape failure.
 */
export function runStatusBadge(status: RunStatus, failureReason: FailureReason | null = null): BadgeSpec {
  switch (status) {
    case 'pending':
      return { label: 'Pending', tone: 'neutral', description: 'Created, not started yet' };
    case 'running':
      return { label: 'Running', tone: 'info', description: 'Scraping now' };
    case 'completed':
      return { label: 'Completed', tone: 'success', description: 'Every platform succeeded' };
    case 'partial':
      return { label: 'Partial', tone: 'warning', description: 'Some platforms failed, some succeeded' };
    case 'failed':
      if (failureReason === 'stale')
        return { label: 'Failed · stale', tone: 'danger', description: 'Failed by the watchdog: no heartbeat or ran too long' };
      if (failureReason === 'interrupted')
        return { label: 'Failed · interrupted', tone: 'danger', description: 'The process running it stopped mid-run' };
      return { label: 'Failed', tone: 'danger', description: 'Every platform failed' };
    case 'connection_failed':
      return {
        label: 'Connection lost',
        tone: 'connection',
        description: 'Every watcher of this observed run went away before it finished',
      };
    case 'cancelled':
      return { label: 'Cancelled', tone: 'stopped', description: 'Stopped by an operator before it finished' };
  }
}

const STEP_LABELS: Record<StepStatus, string> = {
  pending: 'Waiting',
  running: 'Active',
  completed: 'Done',
  failed: 'Failed',
  skipped: 'Skipped',
};

const TRIGGERS: Record<RunTrigger, { label: string; description: string }> = {
  scheduled: { label: 'Scheduled', description: 'Started by the scheduler' },
  api: { label: 'API', description: 'Started over the API, nobody needs to watch it' },
  'api-stream': {
    label: 'Manual',
    description: 'Started from the dashboard and watched live (ends as "Connection lost" if every watcher goes away)',
  },
  retry: { label: 'Retry', description: 'Automatic rescrape of a run whose connection was lost' },
};

export const stepStatusLabel = (status: StepStatus): string => STEP_LABELS[status];
export const triggerLabel = (trigger: RunTrigger): string => TRIGGERS[trigger].label;
export const triggerDescription = (trigger: RunTrigger): string => TRIGGERS[trigger].description;

/** Why a step failed, short: the step row and a bookmaker's last error (a run's reason is failureReasonText). */
const STEP_REASONS: Record<StepFailureReason, string> = {
  timeout: 'timed out',
  network: 'network error',
  http_4xx: 'HTTP 4xx',
  http_5xx: 'HTTP 5xx',
  rate_limited: 'rate limited (429)',
  blocked: 'blocked (403 or challenge)',
  quota_exhausted: 'quota exhausted',
  parse: 'unreadable response',
  too_large: 'response too large',
  refused_value: 'value refused by the database',
  forbidden_address: 'forbidden address',
  layout: 'page layout changed',
  browser: 'browser failed',
  interrupted: 'its replica stopped at each attempt',
  unexpected: 'unexpected error',
};
export const stepReasonLabel = (reason: StepFailureReason): string => STEP_REASONS[reason];

export function failureReasonText(reason: FailureReason | null): string | null {
  switch (reason) {
    case 'all_platforms_failed':
      return 'Every platform failed.';
    case 'stale':
      return 'The watchdog failed this run: no heartbeat for too long, or it ran longer than allowed.';
    case 'interrupted':
      return 'The service stopped while this run was in progress (found at start-up).';
    case 'connection_lost':
      return 'Every watcher disconnected before the run finished; the remaining platforms were not scraped.';
    case null:
      return null;
  }
}
