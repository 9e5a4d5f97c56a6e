import { createServer, type Server } from 'node:http';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPrometheus, waitFor, type PrometheusServer } from './prometheus-harness.js';

/**
 * The harness against a stand-in target on loopback: Prometheus scrapes it every second,
 * evaluates the real oddswatch rules every second, and query()/alerts()/stop() behave.
 */

// What a service with a run hung for 2000s exports (the rules need nothing else for this).
const METRICS = [
  '# TYPE oddswatch_runs_active gauge',
  'oddswatch_runs_active 1',
  '# TYPE oddswatch_run_oldest_running_age_seconds gauge',
  'oddswatch_run_oldest_running_age_seconds 2000',
  '# TYPE oddswatch_scheduler_paused gauge',
  'oddswatch_scheduler_paused 0',
  '',
].join('\n');

describe('prometheus harness', () => {
  let target: Server;
  let prometheus: PrometheusServer;

  beforeAll(async () => {
    target = createServer((request, response) => {
      if (request.url !== '/metrics') return void response.writeHead(404).end();
      response.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' }).end(METRICS);
    });
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
    const address = target.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    prometheus = await startPrometheus({
      scrapeTargets: [`127.0.0.1:${port}`],
      ruleFiles: ['grafana/alerts/oddswatch.rules.yml'],
      scrapeIntervalSeconds: 1,
      evaluationIntervalSeconds: 1,
    });
  });

  afterAll(async () => {
    await prometheus?.stop();
    await new Promise((resolve) => target?.close(resolve));
  });

  it('listens on loopback only', () => {
    expect(prometheus.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('scrapes the target as job "oddswatch"', async () => {
    const sample = await waitFor(
      async () => (await prometheus.query('oddswatch_run_oldest_running_age_seconds')).data?.result[0],
      { timeoutMs: 10_000, what: 'the first scrape' },
    );
    expect(sample.metric).toMatchObject({ job: 'oddswatch', __name__: 'oddswatch_run_oldest_running_age_seconds' });
    expect(sample.value?.[1]).toBe('2000');
  });

  it('reports invalid PromQL as an error response instead of throwing', async () => {
    const response = await prometheus.query('sum(');
    expect(response.status).toBe('error');
    expect(response.errorType).toBe('bad_data');
  });

  it('evaluates the rules: a run older than 1020s makes OddswatchRunHung pending, and nothing is absent', async () => {
    const hung = await waitFor(
      async () => (await prometheus.alerts()).find((alert) => alert.labels.alertname === 'OddswatchRunHung'),
      { timeoutMs: 10_000, what: 'OddswatchRunHung in /api/v1/alerts' },
    );
    // for: 2m: pending now, firing two minutes later.
    expect(hung).toMatchObject({ state: 'pending', labels: { job: 'oddswatch', severity: 'page' } });
    expect(Number(hung.value)).toBe(2000);
    const names = (await prometheus.alerts()).map((alert) => alert.labels.alertname);
    expect(names).not.toContain('OddswatchAbsent');
  });

  it('stop() ends the process and removes its temporary directory', async () => {
    const other = await startPrometheus({ scrapeIntervalSeconds: 1 });
    expect(existsSync(other.dir)).toBe(true);
    await other.stop();
    await other.stop();
    await expect(fetch(`${other.url}/-/ready`)).rejects.toThrow();
    expect(existsSync(other.dir)).toBe(false);
  });
});
