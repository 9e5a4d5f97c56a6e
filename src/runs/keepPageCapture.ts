import type { Span } from '@opentelemetry/api';
import type { Logger } from 'pino';
import type { Orm } from '../db/database.js';
import { withDatabaseDeadline } from '../db/databaseDeadline.js';
import { boundedCapture, insertStepCapture } from '../db/tables/stepCaptures.js';
import type { PageCapture } from '../platforms/adapter.js';

/** The capture's write may take this long; a database slower than that loses the capture, never the step. */
export const CAPTURE_WRITE_DEADLINE_MS = 2_000;

/**
 * Stores a failed browser step's page at failure (PlatformError.capture), bounded again by PAGE_CAPTURE_LIMITS,
 * for the run page to show. Beside the step, never part of it: one attempt within CAPTURE_WRITE_DEADLINE_MS,
 * and a capture that cannot be stored is logged and leaves the step's outcome as it was. Resolves whether it
 * was stored.
 */
export async function keepPageCapture(orm: Orm, runId: number, platform: string, capture: PageCapture, log: Logger, span?: Span): Promise<boolean> {
  try {
    const bounded = boundedCapture(capture);
    const stored = await withDatabaseDeadline(CAPTURE_WRITE_DEADLINE_MS, () => insertStepCapture(orm, runId, platform, bounded));
    if (stored) span?.addEvent('page.captured', {
      html_bytes: Buffer.byteLength(bounded.html),
      html_truncated: bounded.htmlTruncated,
      screenshot_bytes: bounded.screenshot?.length ?? 0,
      screenshot_dropped: bounded.screenshotDropped,
    });
    return stored;
  } catch (error) {
    log.warn({ err: error }, 'could not store the page at failure; the step ends without it');
    return false;
  }
}
