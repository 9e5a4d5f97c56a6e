import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import type { RunDetail } from '../../src/shared/contract.js';
import { startTestServer, type TestServer } from '../helpers/testServer.js';
import { scrapeEverySecond, waitFor, type PrometheusServer } from './prometheus-harness.js';
import { readYaml } from './repo.js';

/**
 * OddswatchPlatformVolumeDrop against reality: the real service (real PostgreSQL, simulated feeds)
 * scraped every second by a real Prometheus that loads the shipped rule with its durations shortened
 * (15m window -> 30s, for 10m -> 5s); everything else (expression, threshold, labels, annotations)
 * is the shipped file's.
 */

interface Rule {
  alert?: string;
  expr: string;
  for?: string;
}

let server: TestServer;
let prometheus: PrometheusServer;
let dir: string;

beforeAll(async () => {
  const shipped = readYaml<{ groups: { name: string; rules: Rule[] }[] }>('grafana/alerts/volume.rules.yml');
  const short = parse(stringify(shipped)) as typeof shipped;
  for (const rule of short.groups.flatMap((group) => group.rules)) {
    expect(rule.expr).toContain('[15m]');
    rule.expr = rule.expr.replaceAll('[15m]', '[30s]');
    expect(rule.for).toBe('10m');
    rule.for = '5s';
  }
  dir = mkdtempSync(join(tmpdir(), 'oddswatch-volume-rules-'));
  writeFileSync(join(dir, 'volume.rules.yml'), stringify(short));

  server = await startTestServer();
  prometheus = await scrapeEverySecond(server.port, [join(dir, 'volume.rules.yml')], 'oddswatch_platform_volume_drops_total{platform="redfox"}');
}, 120_000);
afterAll(async () => {
  await prometheus?.stop();
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function scrapeRedfox(): Promise<RunDetail> {
  const created = (await (await server.api('/api/runs', { method: 'POST', json: { platforms: ['redfox'] } })).json()) as RunDetail;
  return server.waitForRun(created.id, ['completed']);
}

describe('OddswatchPlatformVolumeDrop in a real Prometheus scraping the real service', () => {
  it('fires once a platform keeps succeeding with far fewer sporting events than usual', async () => {
    for (let index = 0; index < 4; index += 1) await scrapeRedfox();
    server.platforms.simulated!.set('redfox', { eventsFraction: 0.2 });
    const started = Date.now();
    const thin = [await scrapeRedfox(), await scrapeRedfox()];
    for (const run of thin) {
      expect(run.steps[0]).toMatchObject({ platform: 'redfox', eventsFound: 2, volumeDrop: true, expectedEvents: 10 });
    }

    const gauge = await waitFor(
      async () => (await prometheus.query('oddswatch_platform_events_last_scrape{platform="redfox"} == 2')).data?.result[0],
      { timeoutMs: 15_000, what: 'the last-scrape gauge at 2 in Prometheus' },
    );
    expect(gauge.metric).toMatchObject({ job: 'oddswatch', platform: 'redfox' });

    const alert = await waitFor(
      async () => (await prometheus.alerts()).find((candidate) => candidate.labels.alertname === 'OddswatchPlatformVolumeDrop' && candidate.state === 'firing'),
      { timeoutMs: 30_000, what: `OddswatchPlatformVolumeDrop to fire (Prometheus log: ${prometheus.logs().slice(-500)})` },
    );
    expect(alert.labels).toMatchObject({ severity: 'ticket', job: 'oddswatch', platform: 'redfox' });
    expect(alert.annotations.summary).toContain('silent feed');
    expect(alert.annotations.description).toMatch(/^2 scrapes of platform redfox/);
    expect(alert.annotations.runbook_url).toMatch(/runbooks\.md#oddswatchplatformvolumedrop$/);
    const others = (await prometheus.alerts()).filter((candidate) => candidate.labels.alertname === 'OddswatchPlatformVolumeDrop' && candidate.labels.platform !== 'redfox');
    expect(others).toEqual([]);
    console.log(`OddswatchPlatformVolumeDrop firing ${((Date.now() - started) / 1000).toFixed(1)} s after the first thin scrape started (for shortened to 5 s)`);
  }, 120_000);
});
