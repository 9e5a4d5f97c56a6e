import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunDetail, TraceDetail } from '../../src/shared/contract.js';
import { SERVICE_ARGS, spawnService, type ChildService } from '../helpers/childService.js';
import { createTestDatabase, type TestDatabase } from '../helpers/testDatabase.js';
import { ensureBuilt, launchBrowser, openTab, ROOT, screenshot, seriousViolations, testId, waitFor } from './support.js';

/**
 * The README's path: the service started exactly as `npm start` starts it (built output, the telemetry
 * `--import`, no OTEL_* variable, so no exporter), then a run. Spans must still be recorded: the run,
 * its log lines, the responses and the run page all carry a real trace id, and the run page links to the
 * dashboard's own trace page, which shows the spans the process kept.
 */
const TRACE_ID = /^(?!0{32})[0-9a-f]{32}$/;

let db: TestDatabase;
let service: ChildService;
let browser: Browser;
let run: RunDetail;
let runResponse: Response;
let trace: TraceDetail;

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
  // The trace is served from its first ended span on; the run span ends last, after the statements that
  // follow the run's finish (its detail and run.finished), so the trace is complete once it is in.
  trace = await waitFor(async () => {
    const response = await fetch(`${service.url}/api/traces/${run.traceId}`);
    const held = response.ok ? ((await response.json()) as TraceDetail) : undefined;
    return held?.spans.some((span) => span.name === 'scrape.run') ? held : undefined;
  }, { timeoutMs: 10_000, what: 'the run trace to be complete' });
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

  it('links the run page to the trace page in the same tab: the run span and one platform span per step, wide and narrow', async () => {
    expect(run.traceUrl).toBe(`/traces/${run.traceId}`);
    const platforms = run.steps.map((step) => step.platform).sort();
    expect(platforms.length).toBeGreaterThan(1);
    for (const viewport of [{ width: 1280, height: 900 }, { width: 390, height: 844 }]) {
      const tab = await openTab(browser, service.url, `/runs/${run.id}`, viewport);
      try {
        const link = testId(tab.page, 'run-trace-link');
        await link.waitFor({ timeout: 10_000 });
        for (const testid of ['run-trace-link', 'timeline-trace-link']) {
          expect(await testId(tab.page, testid).getAttribute('href')).toBe(`/traces/${run.traceId}`);
          expect(await testId(tab.page, testid).getAttribute('target')).toBeNull();
        }
        await link.click();
        await tab.page.waitForURL(`**/traces/${run.traceId}`, { timeout: 10_000 });
        const spans = testId(tab.page, 'trace-span');
        await spans.first().waitFor({ timeout: 10_000 });
        expect(await testId(tab.page, 'trace-id').textContent()).toBe(run.traceId);
        expect(await testId(tab.page, 'trace-run-link').getAttribute('href')).toBe(`/runs/${run.id}`);
        expect(await spans.count()).toBe(trace.spans.length);

        const runRows = tab.page.locator('[data-testid="trace-span"][data-name="scrape.run"]');
        expect(await runRows.count()).toBe(1);
        expect(await runRows.getAttribute('data-depth')).toBe('0');
        const platformRows = tab.page.locator('[data-testid="trace-span"][data-name="scrape.platform"]');
        const shown = await platformRows.evaluateAll((rows) => rows.map((row) => [row.getAttribute('data-platform'), row.getAttribute('data-depth')]));
        expect(shown.map(([platform]) => platform).sort()).toEqual(platforms);
        expect(shown.every(([, depth]) => depth === '1')).toBe(true);
        // The first platform's feed requests sit under it.
        const first = shown[0]![0]!;
        const rows = await spans.evaluateAll((all) => all.map((row) => [row.getAttribute('data-name'), row.getAttribute('data-platform'), row.getAttribute('data-depth')]));
        const at = rows.findIndex(([name, platform]) => name === 'scrape.platform' && platform === first);
        expect(rows.slice(at + 1).findIndex(([, , depth]) => depth === '2')).toBe(0);

        // Opening a span shows its attributes.
        await platformRows.first().locator('[data-testid="trace-span-toggle"]').click();
        const details = platformRows.first().locator('[data-testid="trace-span-details"]');
        expect(await details.textContent()).toContain('oddswatch.platform');

        const violations = await seriousViolations(tab.page);
        expect(violations.map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join('; ')})`)).toEqual([]);
        expect(await tab.page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(viewport.width);
        await screenshot(tab.page, `trace-view-${viewport.width}`);
        expect(tab.pageErrors).toEqual([]);
      } finally {
        await tab.close();
      }
    }
  });

  it('says where to look when this process does not hold the trace', async () => {
    const tab = await openTab(browser, service.url, '/traces/0af7651916cd43dd8448eb211c80319c');
    try {
      const notHeld = testId(tab.page, 'trace-not-found');
      await notHeld.waitFor({ timeout: 10_000 });
      const text = (await notHeld.textContent()) ?? '';
      expect(text).toContain('Trace 0af7651916cd43dd8448eb211c80319c has expired.');
      expect(text).toContain('A restart loses them all'); // said plainly: kept in memory, gone at restart
      expect(await testId(tab.page, 'trace-keep-hint').isVisible()).toBe(true); // no TRACE_URL_TEMPLATE here: how to keep them
      expect(tab.pageErrors).toEqual([]);
    } finally {
      await tab.close();
    }
  });
});
