import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunDetail } from '../../src/shared/contract.js';
import { SERVICE_ARGS, spawnService, type ChildService } from '../helpers/childService.js';
import { createTestDatabase, type TestDatabase } from '../helpers/testDatabase.js';
import { ensureBuilt, launchBrowser, openTab, ROOT, screenshot, testId, waitFor } from './support.js';

/**
 * The README's path: the service started exactly as `npm start` starts it (built output, the telemetry
 * `--import`, no OTEL_* variable, so no exporter), then a run. Spans must still be recorded: the run,
 * its log lines, the responses and the run page all carry a real trace id.
 */
const TRACE_ID = /^(?!0{32})[0-9a-f]{32}$/;

let db: TestDatabase;
let service: ChildService;
let browser: Browser;
let run: RunDetail;
let runResponse: Response;

beforeAll(async () => {
  ensureBuilt();
  db = await createTestDatabase();
  // Only the database (instead of the embedded one); the helper adds no OTEL_* variable and inherits none.
  service = await spawnService({ DATABASE_URL: db.url });
  const created = (await (await fetch(`${service.url}/api/runs`, { method: 'POST' })).json()) as RunDetail;
  run = await waitFor(async () => {
    runResponse = await fetch(`${service.url}/api/runs/${created.id}`);
    const current = (await runResponse.json()) as RunDetail;
    return current.finishedAt ? current : undefined;
  }, { timeoutMs: 30_000, what: 'the run to finish' });
  browser = await launchBrowser();
}, 180_000);
afterAll(async () => {
  await browser?.close();
  await service?.stop();
  await db?.drop();
});

describe('trace ids as `npm start` runs the service, with no telemetry configuration', () => {
  it('is started the way package.json start script starts it', () => {
    const { scripts } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(scripts.start).toContain(`node ${SERVICE_ARGS.join(' ')}`);
    expect(service.process.spawnargs.slice(1)).toEqual(SERVICE_ARGS);
  });

  it('stores a trace id on the finished run', () => {
    expect(run.status).toBe('completed');
    expect(run.traceId).toMatch(TRACE_ID);
  });

  it('writes the run trace id on the run log lines', () => {
    const lines = service.logs.filter((line) => line.run_id === run.id);
    expect(lines.length).toBeGreaterThan(2);
    expect(lines.some((line) => line.msg === 'run created' && line.trace_id === run.traceId)).toBe(true);
    const platformLines = lines.filter((line) => line.msg.startsWith('platform scrape'));
    expect(platformLines.length).toBeGreaterThan(0);
    expect(platformLines.every((line) => line.trace_id === run.traceId && typeof line.span_id === 'string')).toBe(true);
  });

  it('answers with the request trace context in X-Trace-Id and Server-Timing', () => {
    const traceId = runResponse.headers.get('x-trace-id');
    expect(traceId).toMatch(TRACE_ID);
    expect(runResponse.headers.get('server-timing')).toMatch(new RegExp(`^traceparent;desc="00-${traceId}-[0-9a-f]{16}-0[01]"$`));
    const request = service.logs.find((line) => line.msg === 'request' && line.path === `/api/runs/${run.id}` && line.trace_id === traceId);
    expect(request).toBeDefined();
  });

  it('shows the trace id on the run page, wide and narrow', async () => {
    for (const viewport of [{ width: 1280, height: 900 }, { width: 390, height: 844 }]) {
      const tab = await openTab(browser, service.url, `/runs/${run.id}`, viewport);
      try {
        const trace = testId(tab.page, 'run-trace');
        await trace.locator(`text=${run.traceId}`).waitFor({ timeout: 10_000 });
        expect((await trace.textContent())?.trim()).toContain(run.traceId);
        expect(await trace.isVisible()).toBe(true);
        await screenshot(tab.page, `trace-link-run-page-${viewport.width}`);
        expect(tab.pageErrors).toEqual([]);
      } finally {
        await tab.close();
      }
    }
  });
});
