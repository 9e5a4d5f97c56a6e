import type { Orm } from '../db/database.js';
import { selectActiveRunId, selectRunDetail, selectRunPage, selectRunSummary, type RunFilter, type RunRow, type StepRow } from '../db/tables/runs.js';
import { selectStepCapture, selectStepCaptureScreenshot } from '../db/tables/stepCaptures.js';
import type { PlatformStep, RunDetail, RunSummary, StepCapture } from '../shared/contract.js';

/**
 * The runs as the API and the progress events show them (RunSummary, RunDetail): step totals, the
 * retry that followed, and the trace URL built from TRACE_URL_TEMPLATE; a failed step's page at failure
 * (StepCapture). Read only.
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

  /** A step's page at failure, its screenshot by URL; null when none is stored. */
  async captureOf(runId: number, platform: string): Promise<StepCapture | null> {
    const row = await selectStepCapture(this.orm, runId, platform);
    if (!row) return null;
    return {
      runId,
      platform,
      url: row.url,
      html: row.html,
      htmlTruncated: row.html_truncated,
      screenshotUrl: row.has_screenshot ? `${capturePath(runId, platform)}/screenshot` : null,
      screenshotDropped: row.screenshot_dropped,
      capturedAt: iso(row.created_at)!,
    };
  }

  /** A step's screenshot at failure (PNG); null when none is stored. */
  async screenshotOf(runId: number, platform: string): Promise<Buffer | null> {
    return (await selectStepCaptureScreenshot(this.orm, runId, platform)) ?? null;
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
    implausibleMarkets: row.markets_checked > 0 ? row.implausible_markets : null,
    implausibleExamples: row.implausible_examples ?? [],
    frozenBookmakers: row.frozen_bookmakers,
    coverageDrops: row.coverage_drops,
    outlierPrices: row.outlier_prices,
    replica: row.replica,
    attempt: row.attempt,
    captured: row.captured,
  };
}

/** GET /api/runs/:id/steps/:platform/capture. */
const capturePath = (runId: number, platform: string) => `/api/runs/${runId}/steps/${encodeURIComponent(platform)}/capture`;
