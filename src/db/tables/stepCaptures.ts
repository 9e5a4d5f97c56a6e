import { boundRowCount, boundRows } from '../boundStatement.js';
import type { Orm } from '../database.js';
import type { PageCapture } from '../../platforms/adapter.js';
import { redactUrl } from '../../platforms/redact.js';
import { storedMessage } from '../../platforms/storedValues.js';
import { PAGE_CAPTURE_LIMITS } from '../../shared/contract.js';

/**
 * Who writes `step_captures`: a failed browser step's page at failure, stored by the step
 * (runs/keepPageCapture.ts, `insertStepCapture`, which also deletes the platform's captures beyond the latest
 * PAGE_CAPTURE_LIMITS.perPlatform); retention deletes them with their run's progress events
 * (runs/pruneRunEvents.ts, `deleteCapturesOfRunsFinishedBefore`). The API reads them (runs/runReadModel.ts).
 */

type Timestamp = Date | string;

/** A capture as the table stores it: within PAGE_CAPTURE_LIMITS, whatever the adapter handed over. */
export interface BoundedCapture {
  url: string;
  screenshot: Buffer | null;
  html: string;
  htmlTruncated: boolean;
  screenshotDropped: boolean;
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * The capture bounded again here (the page's content is the platform's, untrusted): the URL redacted and cut,
 * the HTML cut at PAGE_CAPTURE_LIMITS.htmlBytes of UTF-8 on a character boundary (NUL, which a text column
 * refuses, replaced), a screenshot over PAGE_CAPTURE_LIMITS.screenshotBytes or without PNG's signature dropped.
 */
export function boundedCapture(capture: PageCapture): BoundedCapture {
  const bytes = Buffer.from(capture.html.replaceAll('\0', '\ufffd'), 'utf8');
  let end = Math.min(bytes.length, PAGE_CAPTURE_LIMITS.htmlBytes);
  // A continuation byte (10xxxxxx) at the cut: back up to the start of its character.
  while (end < bytes.length && end > 0 && (bytes[end]! & 0xc0) === 0x80) end -= 1;
  const screenshot = capture.screenshot;
  const keepScreenshot = screenshot !== null && screenshot.length <= PAGE_CAPTURE_LIMITS.screenshotBytes && screenshot.subarray(0, PNG_SIGNATURE.length).equals(PNG_SIGNATURE);
  return {
    url: storedMessage(redactUrl(capture.url), PAGE_CAPTURE_LIMITS.urlChars),
    // Decoded from the bytes: well-formed UTF-8 whatever the string held.
    html: bytes.subarray(0, end).toString('utf8'),
    htmlTruncated: capture.htmlTruncated || end < bytes.length,
    screenshot: keepScreenshot ? screenshot : null,
    screenshotDropped: screenshot !== null && !keepScreenshot,
  };
}

/**
 * Stores a step's capture (bounded) and deletes the platform's older captures beyond the latest
 * PAGE_CAPTURE_LIMITS.perPlatform, in one statement. False when the step already had one (it is kept).
 */
export async function insertStepCapture(orm: Orm, runId: number, platform: string, capture: BoundedCapture): Promise<boolean> {
  // The statement's snapshot does not hold the new row: the delete keeps the latest (cap - 1) of the others.
  const [row] = await boundRows<{ stored: number }>(
    orm,
    `with inserted as (
       insert into step_captures (run_id, platform, url, screenshot, html, html_truncated, screenshot_dropped)
       values (?, ?, ?, ?, ?, ?, ?)
       on conflict (run_id, platform) do nothing
       returning 1
     ), older as (
       delete from step_captures c
       where c.platform = ? and exists (select 1 from inserted)
         and (c.run_id, c.platform) not in (
           select k.run_id, k.platform from step_captures k where k.platform = ? order by k.created_at desc, k.run_id desc limit ?
         )
     )
     select count(*)::int as stored from inserted`,
    [runId, platform, capture.url, capture.screenshot, capture.html, capture.htmlTruncated, capture.screenshotDropped, platform, platform, PAGE_CAPTURE_LIMITS.perPlatform - 1],
  );
  return (row?.stored ?? 0) === 1;
}

export interface CaptureRow {
  url: string;
  html: string;
  html_truncated: boolean;
  screenshot_dropped: boolean;
  has_screenshot: boolean;
  created_at: Timestamp;
}

/** A step's capture without its screenshot; undefined when none is stored. */
export async function selectStepCapture(orm: Orm, runId: number, platform: string): Promise<CaptureRow | undefined> {
  const rows = await boundRows<CaptureRow>(
    orm,
    `select url, html, html_truncated, screenshot_dropped, screenshot is not null as has_screenshot, created_at
     from step_captures where run_id = ? and platform = ?`,
    [runId, platform],
  );
  return rows[0];
}

/** A step's screenshot (PNG); undefined when no capture or no screenshot is stored. */
export async function selectStepCaptureScreenshot(orm: Orm, runId: number, platform: string): Promise<Buffer | undefined> {
  const rows = await boundRows<{ screenshot: Buffer }>(
    orm,
    `select screenshot from step_captures where run_id = ? and platform = ? and screenshot is not null`,
    [runId, platform],
  );
  return rows[0]?.screenshot;
}

/** Retention: the captures of runs finished more than `days` ago (the rule of their progress events). */
export function deleteCapturesOfRunsFinishedBefore(orm: Orm, days: number): Promise<number> {
  return boundRowCount(
    orm,
    `delete from step_captures c where c.run_id in (select r.id from runs r where r.finished_at < now() - make_interval(days => ?))`,
    [days],
  );
}
