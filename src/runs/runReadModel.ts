import type { Orm } from '../db/database.js';
import { selectActiveRunId, selectRunDetail, selectRunPage, selectRunSummary, type RunFilter, type RunRow, type StepRow } from '../db/tables/runs.js';
import type { PlatformStep, RunDetail, RunSummary } from '../shared/contract.js';

/**
 * The runs as the API and the progress events show them (RunSummary, RunDetail): step totals, the
 * retry that followed, and the trace URL built from TRACE_URL_TEMPLATE. Read only.
 */

type Timestamp = Date | string;
/** The ORM's pg driver returns timestamps as strings; the API speaks ISO 8601 in UTC. */
const iso = (value: Timestamp | null) => (value === null ? null : new Date(value).toISOString());
const ms = (value: Timestamp | null) => (value === null ? undefined : new Date(value).getTime());

export class RunReadModel {
  constructor(
    private readonly orm: Orm,
    private readonly traceUrlTemplate: string | undefined,
  ) {}

  async summaryOf(id: number): Promise<RunSummary | null> {
    const row = await selectRunSummary(this.orm, id);
    return row ? this.toSummary(row) : null;
  }

  /** A run with its steps in its platforms' order, in one statement. */
  async detailOf(id: number): Promise<RunDetail | null> {
    const row = await selectRunDetail(this.orm, id);
    return row ? { ...this.toSummary(row), steps: row.steps.map(toStep) } : null;
  }

  activeRunId(): Promise<number | null> {
    return selectActiveRunId(this.orm);
  }

  /** Newest first; `hasMore` when older runs match the filter too. */
  async list(filter: RunFilter): Promise<{ items: RunSummary[]; hasMore: boolean }> {
    const rows = await selectRunPage(this.orm, filter);
    return { items: rows.slice(0, filter.limit).map((row) => this.toSummary(row)), hasMore: rows.length > filter.limit };
  }

  private toSummary(row: RunRow): RunSummary {
    const started = ms(row.started_at);
    const finished = ms(row.finished_at);
    return {
      id: Number(row.id),
      status: row.status,
      trigger: row.trigger,
      failureReason: row.failure_reason,
      retryOf: row.retry_of === null ? null : Number(row.retry_of),
      retriedBy: row.retried_by === null ? null : Number(row.retried_by),
      platforms: row.platforms,
      platformsTotal: row.platforms.length,
      platformsDone: row.steps_done,
      platformsSucceeded: row.steps_succeeded,
      platformsFailed: row.steps_failed,
      eventsFound: row.events_found,
      failedPlatforms: row.failed_platforms,
      createdAt: iso(row.created_at)!,
      startedAt: iso(row.started_at),
      finishedAt: iso(row.finished_at),
      heartbeatAt: iso(row.heartbeat_at),
      durationMs: started !== undefined && finished !== undefined ? finished - started : null,
      traceId: row.trace_id,
      traceUrl: row.trace_id && this.traceUrlTemplate ? this.traceUrlTemplate.replaceAll('{traceId}', row.trace_id) : null,
    };
  }
}

function toStep(row: StepRow): PlatformStep {
  return {
    platform: row.platform,
    status: row.status,
    eventsFound: row.events_found,
    startedAt: iso(row.started_at),
    finishedAt: iso(row.finished_at),
    durationMs: row.duration_ms,
    error: row.error,
    reason: row.reason,
    volumeDrop: row.volume_drop,
    expectedEvents: row.expected_events,
  };
}
