import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { RUN_TRIGGERS } from '../../src/shared/contract.js';
import type { RunDetail } from '../../src/shared/contract.js';
import { BROWSER_RESTART_CAUSES } from '../../src/telemetry/metrics.js';
import { MetricsSnapshot } from '../helpers/metrics.js';
import { connectSse } from '../helpers/sseClient.js';
import { FAST_LIFECYCLE, startTestServer, type TestServer } from '../helpers/testServer.js';
import { waitFor } from '../helpers/waitFor.js';

let server: TestServer;
const scrape = () => MetricsSnapshot.scrape(`${server.url}/metrics`);

beforeAll(async () => {
  // Two browser pages (the browser test holds both and queues a third step): light on a shared machine.
  server = await startTestServer({ ...FAST_LIFECYCLE, BROWSER_MAX_PAGES: '2' });
});
afterAll(async () => server?.close());

async function runToEnd(body: unknown, statuses = ['completed', 'partial', 'failed', 'connection_failed'] as const): Promise<RunDetail> {
  const created = (await (await server.api('/api/runs', { method: 'POST', json: body })).json()) as RunDetail;
  return server.waitForRun(created.id, [...statuses]);
}

describe('metric catalogue (docs/metrics.md), as exported', () => {
  it('exports every counter label set at 0 from start-up, with the right kinds', async () => {
    const metrics = await scrape();
    const kinds: Record<string, string> = {
      oddswatch_sse_subscribers: 'GAUGE',
      oddswatch_connection_failed_total: 'COUNTER',
      oddswatch_stale_runs_total: 'COUNTER',
      oddswatch_runs_total: 'COUNTER',
      oddswatch_runs_active: 'GAUGE',
      oddswatch_run_oldest_running_age_seconds: 'GAUGE',
      oddswatch_platform_events_scraped_total: 'COUNTER',
      oddswatch_scheduler_paused: 'GAUGE',
      oddswatch_scrape_interval_seconds: 'GAUGE',
      oddswatch_scheduler_ticks_skipped_total: 'COUNTER',
      oddswatch_sse_disconnects_total: 'COUNTER',
      oddswatch_runs_recovered_total: 'COUNTER',
      oddswatch_browser_restarts_total: 'COUNTER',
      oddswatch_browser_pages_open: 'GAUGE',
      oddswatch_browser_pages_queued: 'GAUGE',
      oddswatch_platform_lock_waits_total: 'COUNTER',
    };
    for (const [name, kind] of Object.entries(kinds)) expect(metrics.type(name), name).toBe(kind);
    for (const trigger of RUN_TRIGGERS) {
      for (const status of ['completed', 'partial', 'failed']) {
        expect(metrics.samples('oddswatch_runs_total').some((sample) => sample.labels.trigger === trigger && sample.labels.status === status), `${trigger}/${status}`).toBe(true);
      }
    }
    expect(metrics.samples('oddswatch_connection_failed_total').map((sample) => sample.labels.trigger).sort()).toEqual(['api-stream', 'retry']);
    expect(metrics.samples('oddswatch_connection_failed_total').every((sample) => sample.value === 0)).toBe(true);
    expect(metrics.samples('oddswatch_stale_runs_total')).toEqual([{ labels: {}, value: 0 }]);
    expect(metrics.samples('oddswatch_platform_events_scraped_total').map((sample) => sample.labels.platform).sort()).toEqual([...server.platforms.names].sort());
    expect(metrics.samples('oddswatch_scheduler_ticks_skipped_total').map((sample) => sample.labels.scheduler_job).sort()).toEqual(['detect_stale_runs', 'prune_run_events', 'scrape_all_platforms']);
    expect(metrics.value('oddswatch_sse_disconnects_total', { stream: 'run', reason: 'slow' })).toBe(0);
    expect(metrics.samples('oddswatch_sse_disconnects_total').length).toBeGreaterThanOrEqual(6);
    expect(metrics.samples('oddswatch_browser_restarts_total').map((sample) => [sample.labels.cause, sample.value]).sort()).toEqual(BROWSER_RESTART_CAUSES.map((cause) => [cause, 0]).sort());
    expect(metrics.samples('oddswatch_platform_lock_waits_total').map((sample) => [sample.labels.outcome, sample.value]).sort()).toEqual([['freed', 0], ['taken_over', 0]]);
    // No browser has run yet: nothing to measure, so no memory series (not a 0).
    expect(metrics.has('oddswatch_browser_memory_bytes')).toBe(false);
    // No label ever carries a run id, a URL or error text.
    const labelNames = new Set(metrics.text.split('\n').filter((line) => line.startsWith('oddswatch_')).flatMap((line) => [...line.matchAll(/([a-z_]+)="/g)].map((match) => match[1])));
    expect([...labelNames].sort()).toEqual(['cause', 'kind', 'le', 'outcome', 'platform', 'reason', 'scheduler_job', 'state', 'status', 'stream', 'trigger'].filter((name) => labelNames.has(name)).sort());
  });

  it('counts a completed and a partial run, their durations, events and freshness', async () => {
    const before = await scrape();
    await runToEnd({ platforms: ['northwind', 'bluepeak'] });
    server.platforms.simulated!.set('redfox', { failureRate: 1 });
    await runToEnd({ platforms: ['northwind', 'redfox'] });
    server.platforms.simulated!.set('redfox', { failureRate: 0 });
    const after = await scrape();
    const delta = (name: string, labels: Record<string, string>) => after.value(name, labels) - before.value(name, labels);
    expect(delta('oddswatch_runs_total', { trigger: 'api', status: 'completed' })).toBe(1);
    expect(delta('oddswatch_runs_total', { trigger: 'api', status: 'partial' })).toBe(1);
    const observations = (name: string, labels: Record<string, string>) => after.histogramCount(name, labels) - before.histogramCount(name, labels);
    expect(observations('oddswatch_run_duration_seconds', { trigger: 'api', status: 'completed' })).toBe(1);
    expect(delta('oddswatch_platform_events_scraped_total', { platform: 'northwind' })).toBe(20);
    expect(observations('oddswatch_platform_scrape_duration_seconds', { platform: 'redfox', outcome: 'failed' })).toBe(1);
    expect(observations('oddswatch_platform_scrape_duration_seconds', { platform: 'northwind', outcome: 'completed' })).toBe(2);
    const freshness = after.value('oddswatch_platform_last_success_timestamp_seconds', { platform: 'northwind' });
    expect(Date.now() / 1000 - freshness).toBeLessThan(30);
    expect(after.samples('oddswatch_platform_last_success_timestamp_seconds').some((sample) => sample.labels.platform === 'redfox')).toBe(false);
    expect(after.text).toContain('oddswatch_platform_scrape_duration_seconds_bucket{platform="northwind",outcome="completed",le="0.05"}');
    expect(after.text).toContain('le="120"');
    // The default pool starts every step of a run at once: 4 waits of the `feed` kind, each under 50 ms; no slot held after.
    expect(observations('oddswatch_scrape_slot_wait_seconds', { kind: 'feed' })).toBe(4);
    expect(after.value('oddswatch_scrape_slot_wait_seconds_bucket', { kind: 'feed', le: '0.05' }) - before.value('oddswatch_scrape_slot_wait_seconds_bucket', { kind: 'feed', le: '0.05' })).toBe(4);
    expect([after.value('oddswatch_scrape_slots_in_use'), after.value('oddswatch_scrape_steps_waiting')]).toEqual([0, 0]);
  });

  it('counts connection_failed and stale runs, and shows active runs and the oldest running age', async () => {
    const before = await scrape();
    server.platforms.simulated!.set('northwind', { latencyMs: 150, pages: 4 });
    await runToEnd({ platforms: ['northwind', 'redfox'], observe: true });
    server.platforms.simulated!.set('northwind', { latencyMs: 20, pages: 2 });

    server.platforms.simulated!.set('luckyowl', { hang: true });
    const hung = (await (await server.api('/api/runs', { method: 'POST', json: { platforms: ['luckyowl'] } })).json()) as RunDetail;
    await server.waitForRun(hung.id, ['running']);
    const during = await waitFor(async () => {
      const snapshot = await scrape();
      return snapshot.value('oddswatch_run_oldest_running_age_seconds') > 0.3 ? snapshot : undefined;
    });
    expect(during.value('oddswatch_runs_active')).toBe(1);
    await waitFor(async () => (await server.runs.detectStale()) === 1, { timeoutMs: 10_000, intervalMs: 100 });
    server.platforms.simulated!.set('luckyowl', { hang: false });

    const after = await scrape();
    expect(after.value('oddswatch_connection_failed_total', { trigger: 'api-stream' }) - before.value('oddswatch_connection_failed_total', { trigger: 'api-stream' })).toBe(1);
    expect(after.value('oddswatch_runs_total', { trigger: 'api-stream', status: 'connection_failed' }) - before.value('oddswatch_runs_total', { trigger: 'api-stream', status: 'connection_failed' })).toBe(1);
    expect(after.value('oddswatch_stale_runs_total') - before.value('oddswatch_stale_runs_total')).toBe(1);
    expect(after.value('oddswatch_runs_active')).toBe(0);
    expect(after.value('oddswatch_run_oldest_running_age_seconds')).toBe(0);
  });

  it('counts a skipped scheduled tick', async () => {
    server.platforms.simulated!.set('northwind', { latencyMs: 300, pages: 2 });
    const created = (await (await server.api('/api/runs', { method: 'POST', json: { platforms: ['northwind'] } })).json()) as RunDetail;
    const before = (await scrape()).value('oddswatch_scheduler_ticks_skipped_total', { scheduler_job: 'scrape_all_platforms' });
    await server.scheduler.runNow('scrape_all_platforms');
    expect((await scrape()).value('oddswatch_scheduler_ticks_skipped_total', { scheduler_job: 'scrape_all_platforms' }) - before).toBe(1);
    await server.waitForRun(created.id, ['completed']);
    server.platforms.simulated!.set('northwind', { latencyMs: 20, pages: 2 });
  });

  it('follows SSE subscribers: N connected, then back to 0', async () => {
    const clients = await Promise.all(Array.from({ length: 7 }, (_, index) => connectSse(`${server.url}/api/events`, index === 0 ? {} : {})));
    expect((await scrape()).value('oddswatch_sse_subscribers', { stream: 'global' })).toBe(7);
    for (const client of clients) client.close();
    await waitFor(async () => (await scrape()).value('oddswatch_sse_subscribers', { stream: 'global' }) === 0, { what: 'the gauge to return to 0' });
  });

  it("follows the replica's browser in real Chromium: pages open and queued, its memory, page durations by outcome", async () => {
    const browsers = server.platforms.browsers;
    const signal = AbortSignal.timeout(60_000);
    const before = await scrape();
    // Every page slot held by a step on its page, and one step more waiting for a slot.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let onTheirPages = 0;
    const holders = Array.from({ length: browsers.maxPages }, () =>
      browsers.withPage(signal, {}, async (page) => {
        await page.setContent('<p>odds</p>');
        onTheirPages += 1;
        await held;
      }),
    );
    const waiting = browsers.withPage(signal, {}, async () => undefined);
    try {
      await waitFor(() => onTheirPages === browsers.maxPages, { timeoutMs: 30_000, what: `${browsers.maxPages} steps on their pages` });
      const busy = await scrape();
      expect(busy.value('oddswatch_browser_pages_open')).toBe(browsers.maxPages);
      expect(busy.value('oddswatch_browser_pages_queued')).toBe(1);
      expect(busy.value('oddswatch_browser_memory_bytes')).toBeGreaterThan(0);
    } finally {
      release();
      await Promise.allSettled([...holders, waiting]);
    }
    await Promise.all([...holders, waiting]);
    await expect(browsers.withPage(signal, {}, () => Promise.reject(new Error('the step failed on its page')))).rejects.toThrow('the step failed on its page');

    const after = await scrape();
    expect(after.value('oddswatch_browser_pages_open')).toBe(0);
    expect(after.value('oddswatch_browser_pages_queued')).toBe(0);
    // Chromium's processes together: tens of MB at least, far below the whole machine.
    const memory = after.value('oddswatch_browser_memory_bytes');
    expect(memory).toBeGreaterThan(10 * 1024 ** 2);
    expect(memory).toBeLessThan(4 * 1024 ** 3);
    expect(after.type('oddswatch_browser_memory_bytes')).toBe('GAUGE');
    expect(after.type('oddswatch_browser_page_duration_seconds')).toBe('HISTOGRAM');
    const pages = (outcome: string) => after.histogramCount('oddswatch_browser_page_duration_seconds', { outcome }) - before.histogramCount('oddswatch_browser_page_duration_seconds', { outcome });
    expect(pages('completed')).toBe(browsers.maxPages + 1);
    expect(pages('failed')).toBe(1);
    expect(after.text).toContain('oddswatch_browser_page_duration_seconds_bucket{outcome="failed",le="0.05"}');
    // A page that failed is no restart: the browser serves the next step.
    expect(after.samples('oddswatch_browser_restarts_total').filter((sample) => sample.value > 0)).toEqual([]);
  });

  it('is the catalogue of docs/metrics.md: every oddswatch metric exported is a row there, of its kind, naming every label its series carry', async () => {
    const rows = new Map<string, { kind: string; labels: Set<string> }>();
    for (const line of readFileSync(new URL('../../docs/metrics.md', import.meta.url), 'utf8').split('\n')) {
      const row = /^\| `(oddswatch_\w+)` \| (\w+) \|([^|]*)\|/.exec(line);
      // A label's values may follow it in parentheses: `stream` (`run`, `global`).
      if (row) rows.set(row[1]!, { kind: row[2]!, labels: new Set([...row[3]!.replace(/\([^)]*\)/g, '').matchAll(/`(\w+)`/g)].map((match) => match[1]!)) });
    }
    const exported = await scrape();
    const families = [...exported.text.matchAll(/^# TYPE (oddswatch_\w+) (\w+)$/gm)].map((match) => ({ name: match[1]!, kind: match[2]! }));
    // Run after the tests above: the browser's metrics and the failure reason label are in by now.
    expect(families.map((family) => family.name)).toEqual(expect.arrayContaining(['oddswatch_browser_memory_bytes', 'oddswatch_browser_page_duration_seconds', 'oddswatch_browser_restarts_total']));
    for (const { name, kind } of families) {
      const row = rows.get(name);
      expect(row, `docs/metrics.md has no row for ${name}`).toBeDefined();
      expect(row!.kind, `${name}'s kind in docs/metrics.md`).toBe(kind);
      const series = kind === 'histogram' ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : [name];
      const labels = new Set(
        exported.text
          .split('\n')
          .filter((line) => series.some((seriesName) => line.startsWith(`${seriesName}{`)))
          .flatMap((line) => [...line.matchAll(/(\w+)="/g)].map((match) => match[1]!))
          .filter((label) => label !== 'le'),
      );
      for (const label of labels) expect(row!.labels.has(label), `docs/metrics.md: ${name} does not name its label ${label}`).toBe(true);
    }
  });
});
