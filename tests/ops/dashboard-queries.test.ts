import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimulatedFeeds } from '../../src/platforms/simulatedFeeds.js';
import type { RunDetail } from '../../src/shared/contract.js';
import { spawnService, type ChildService } from '../helpers/childService.js';
import { MetricsSnapshot } from '../helpers/metrics.js';
import { createTestDatabase, type TestDatabase } from '../helpers/testDatabase.js';
import { DASHBOARD_FILES, loadDashboard, parsePromQL, promQueries, substituteVariables, type Panel, type Selector } from './dashboards.js';
import { startPrometheus, waitFor, type PrometheusServer } from './prometheus-harness.js';
import { filesEndingWith, readYaml } from './repo.js';

/**
 * Every PromQL expression of the Grafana dashboards is sent to a real Prometheus (with the
 * oddswatch rules loaded and no targets): each must parse and evaluate. Dashboards that use a
 * recording rule must use one that exists. Then against the real service (the built process with its
 * telemetry, as `npm start` runs it) scraped by a real Prometheus: every metric and label a query reads is
 * one the service exports, every query selects the dashboard's job and instance, and the service-health
 * and browser rows show data. The service scrapes the simulated platforms and three `browser` platforms
 * (real Chromium) on a tiny single-page site on loopback: two read it, one waits for what is not there.
 */

const RULE_FILES = filesEndingWith('grafana/alerts', '.rules.yml');
/** Every alert and recording rule, with the file it stands in. */
const RULES = RULE_FILES.flatMap((file) =>
  readYaml<{ groups: { rules: { alert?: string; record?: string; expr: string }[] }[] }>(file).groups.flatMap((group) => group.rules.map((rule) => ({ file, ...rule }))),
);
const recordedNames = new Set(RULES.flatMap((rule) => (rule.record ? [rule.record] : [])));
/** Series Prometheus makes itself, not the service. */
const PROMETHEUS_MADE = new Set(['up', 'ALERTS', 'ALERTS_FOR_STATE']);

const queries = DASHBOARD_FILES.flatMap((file) => promQueries(loadDashboard(file)));

describe('dashboard queries against a real Prometheus', () => {
  let prometheus: PrometheusServer;

  beforeAll(async () => {
    prometheus = await startPrometheus({ ruleFiles: RULE_FILES, scrapeIntervalSeconds: 1, evaluationIntervalSeconds: 1 });
  });

  afterAll(async () => {
    await prometheus?.stop();
  });

  it('finds PromQL in every dashboard', () => {
    expect(DASHBOARD_FILES.length).toBeGreaterThanOrEqual(2);
    for (const file of DASHBOARD_FILES) expect(promQueries(loadDashboard(file)).length, file).toBeGreaterThan(0);
  });

  it.each(queries.map((query) => [query.where, query] as const))('%s evaluates', async (_where, query) => {
    const expr = substituteVariables(query.expr, query.interval);
    expect(expr, 'a template variable was left unsubstituted').not.toMatch(/\$\{?\w/);
    const response = await prometheus.query(expr);
    expect(response.status, `${query.where}\n${expr}\n${response.errorType}: ${response.error}`).toBe('success');
  });

  it('uses only recording rules that the rule files define', () => {
    for (const query of queries) {
      for (const name of query.expr.match(/\boddswatch:[a-z0-9_:]+/g) ?? []) {
        expect(recordedNames.has(name), `${query.where} uses ${name}, which no rule records`).toBe(true);
      }
    }
  });

  it('loads and evaluates the rules: with no oddswatch target, OddswatchAbsent goes pending', async () => {
    const absent = await waitFor(
      async () => (await prometheus.alerts()).find((alert) => alert.labels.alertname === 'OddswatchAbsent'),
      { timeoutMs: 15_000, what: 'OddswatchAbsent in /api/v1/alerts' },
    );
    // for: 5m keeps it pending this early; firing is the promtool unit test's job.
    expect(absent.state).toBe('pending');
    expect(absent.labels).toMatchObject({ job: 'oddswatch', severity: 'page' });
    expect(absent.annotations.runbook_url).toMatch(/runbooks\.md#oddswatchabsent$/);
  });
});

/** Panel queries (not the variables: $job lists jobs, $instance the instances of a job). */
const panelQueries = DASHBOARD_FILES.flatMap((file) => {
  const dashboard = loadDashboard(file);
  return promQueries(dashboard).filter((query) => !query.where.includes('/ variable $'));
});

describe('job and instance', () => {
  it('every dashboard has job and instance variables, and every selector of every panel query uses both', () => {
    for (const file of DASHBOARD_FILES) {
      const names = (loadDashboard(file).templating?.list ?? []).map((variable) => variable.name);
      expect(names, file).toEqual(expect.arrayContaining(['job', 'instance']));
    }
    expect(panelQueries.length).toBeGreaterThan(30);
    for (const query of panelQueries) {
      const { selectors } = parsePromQL(query.expr);
      expect(selectors.length, query.where).toBeGreaterThan(0);
      for (const selector of selectors) {
        expect(selector.matchers, `${query.where}: ${selector.metric}`).toEqual(
          expect.arrayContaining([
            { label: 'job', op: '=~', value: '$job' },
            { label: 'instance', op: '=~', value: '$instance' },
          ]),
        );
      }
    }
  });
});

/**
 * A single-page bookmaker: an empty shell whose script fetches the odds and renders them, as the `browser`
 * kind expects.
 */
const SPA_SHELL = `<!doctype html><html><head><title>Odds</title></head><body><main id="app">Loading</main><script>
fetch('/api/prematch').then((response) => response.json()).then((odds) => {
  document.getElementById('app').innerHTML = odds.events.map((event) =>
    '<div class="event-card" data-id="' + event.id + '"><span class="home">' + event.home + '</span><span class="away">' + event.away + '</span>' +
    '<b class="price" data-selection="home">' + event.price + '</b></div>').join('');
});
</script></body></html>`;
const SPA_ODDS = JSON.stringify({ events: [{ id: 'g1', home: 'Arsenal', away: 'Celtic', price: 2.4 }, { id: 'g2', home: 'Leeds', away: 'Hull', price: 1.9 }] });

/** The three browser platforms on the site at `origin`: capture and dom read it; `spa-moved` waits for an element it no longer has (layout). */
function browserEntries(origin: string): Record<string, unknown>[] {
  const rows = { event: '.event-card', id: { selector: '', attribute: 'data-id' }, home: '.home', away: '.away', markets: [{ name: 'match_result', each: '.price', selection: { selector: '', attribute: 'data-selection' }, price: { selector: '' } }] };
  return [
    { name: 'spa-capture', kind: 'browser', url: `${origin}/`, capture: '/api/prematch', select: 'events.{ "eventId": id, "eventName": home & " v " & away, "home": home, "away": away, "market": "match_result", "selection": "home", "price": price }' },
    { name: 'spa-dom', kind: 'browser', url: `${origin}/`, dom: { waitFor: '.event-card', rows } },
    { name: 'spa-moved', kind: 'browser', url: `${origin}/`, waitTimeoutMs: 1_000, dom: { waitFor: '.event-list', rows } },
  ];
}

describe('dashboards against the real service', () => {
  let db: TestDatabase;
  let simulated: SimulatedFeeds;
  let spa: Server;
  let dir: string;
  let service: ChildService;
  let prometheus: PrometheusServer;
  let exported: MetricsSnapshot;
  /** Metric name -> the labels its series carry, from the service's own exposition. */
  const labelsOf = new Map<string, Set<string>>();

  const runToEnd = async (platforms: string[]) => {
    const created = (await (
      await fetch(`${service.url}/api/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ platforms }) })
    ).json()) as RunDetail;
    await waitFor(async () => ((await (await fetch(`${service.url}/api/runs/${created.id}`)).json()) as RunDetail).status === 'partial', { timeoutMs: 60_000, what: `run ${created.id} to end partial` });
    return created;
  };
  const seriesOf = async (expr: string) => (await prometheus.query(expr)).data?.result ?? [];

  beforeAll(async () => {
    db = await createTestDatabase();
    // The simulated platforms (no browser ones: the browser platforms are the site's, below), served from here.
    simulated = new SimulatedFeeds({ '*': { latencyMs: 10, pages: 2, eventsPerPage: 3 }, redfox: { failureRate: 1 } }, { browsers: false });
    await simulated.start();
    spa = createServer((request, response) => {
      if (request.url === '/api/prematch') response.writeHead(200, { 'content-type': 'application/json' }).end(SPA_ODDS);
      else response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(SPA_SHELL);
    });
    await new Promise<void>((resolve) => spa.listen(0, '127.0.0.1', resolve));
    dir = mkdtempSync(join(tmpdir(), 'oddswatch-dashboards-'));
    const platformsFile = join(dir, 'platforms.json');
    const origin = `http://127.0.0.1:${(spa.address() as AddressInfo).port}`;
    writeFileSync(platformsFile, JSON.stringify([...simulated.names.map((name) => simulated.entryOf(name)), ...browserEntries(origin)]));
    service = await spawnService({
      DATABASE_URL: db.url,
      PLATFORMS_FILE: platformsFile,
      ...simulated.env,
      // One page at a time, a new browser every two pages: the five pages below make two planned recycles
      // and leave the third browser running (its memory is on the dashboard).
      BROWSER_MAX_PAGES: '1',
      BROWSER_RECYCLE_PAGES: '2',
    });
    const port = Number(new URL(service.url).port);
    prometheus = await startPrometheus({ scrapeTargets: [`127.0.0.1:${port}`], scrapeIntervalSeconds: 1 });
    // Requests after the first scrape: rate() sees them (a counter first scraped at its final value has a rate of 0).
    await waitFor(async () => ((await prometheus.query('process_cpu_time_seconds_total')).data?.result.length ?? 0) > 0, {
      timeoutMs: 30_000,
      intervalMs: 250,
      what: 'the first scrape of the service',
    });
    // The page duration series are born at a browser page's first close of each outcome: one run to make them,
    // scraped, before the run whose pages the percentiles measure.
    await runToEnd(['spa-capture', 'spa-moved']);
    await waitFor(async () => (await seriesOf('oddswatch_browser_page_duration_seconds_count')).length === 2, {
      timeoutMs: 30_000,
      intervalMs: 250,
      what: 'Prometheus to see browser pages of both outcomes',
    });
    const created = await runToEnd(['northwind', 'redfox', 'oddsline', 'spa-capture', 'spa-dom', 'spa-moved']);
    // A series is born at its first request: keep requesting until Prometheus has seen some of them increase.
    const rateOf = async (selector: string) => Number((await prometheus.query(`sum(rate(http_server_request_duration_seconds_count{${selector}}[1m]))`)).data?.result[0]?.value?.[1] ?? 0);
    await waitFor(
      async () => {
        await Promise.all([`/api/runs/${created.id}`, '/api/runs/987654321', '/api/platforms'].map(async (path) => (await fetch(`${service.url}${path}`)).arrayBuffer()));
        return (await rateOf('http_route="/api/runs/:id", http_response_status_code="404"')) > 0 && (await rateOf('http_route="/api/platforms"')) > 0;
      },
      { timeoutMs: 30_000, intervalMs: 300, what: 'Prometheus to see requests by route' },
    );
    // The last browser's memory, sampled once it started, and the second run's pages in the histogram.
    await waitFor(
      async () =>
        (await seriesOf('oddswatch_browser_memory_bytes')).length === 1 &&
        Number((await seriesOf('sum(oddswatch_browser_page_duration_seconds_count)'))[0]?.value?.[1]) === 5,
      { timeoutMs: 30_000, intervalMs: 250, what: "Prometheus to see the last browser's memory and five pages" },
    );
    exported = await MetricsSnapshot.scrape(`${service.url}/metrics`);
    for (const line of exported.text.split('\n')) {
      const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? /.exec(line);
      if (!match) continue;
      const labels = labelsOf.get(match[1]!) ?? new Set<string>();
      for (const label of match[2]?.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="/g) ?? []) labels.add(label[1]!);
      labelsOf.set(match[1]!, labels);
    }
  }, 180_000);

  afterAll(async () => {
    await prometheus?.stop();
    await service?.stop('SIGTERM');
    await simulated?.stop();
    await new Promise((resolve) => (spa ? spa.close(resolve) : resolve(undefined)));
    if (dir) rmSync(dir, { recursive: true, force: true });
    await db?.drop();
  });

  /**
   * Expects every selector (but those of `skipped` metrics) to read a metric the service exports, with matchers
   * on labels its series carry; answers the labels those series carry, with job and instance.
   */
  const expectExported = (where: string, selectors: Selector[], skipped: (metric: string) => boolean) => {
    const available = new Set(['job', 'instance']);
    for (const selector of selectors) {
      if (skipped(selector.metric)) continue;
      const labels = labelsOf.get(selector.metric);
      expect(labels, `${where} reads ${selector.metric}, which the service does not export`).toBeDefined();
      for (const label of labels!) available.add(label);
      for (const { label } of selector.matchers) {
        if (label === 'job' || label === 'instance') continue;
        expect(labels!.has(label), `${where}: ${selector.metric} has no label ${label}`).toBe(true);
      }
    }
    return available;
  };

  it('reads only metrics the service exports (or recording rules), with labels their series carry', () => {
    for (const query of queries) {
      const { selectors, grouping } = parsePromQL(query.expr);
      const available = expectExported(query.where, selectors, (metric) => recordedNames.has(metric));
      if (selectors.some((selector) => recordedNames.has(selector.metric))) continue;
      for (const label of grouping) expect(available.has(label), `${query.where} groups by ${label}, which none of its series carries`).toBe(true);
    }
  });

  it('alert and recording rules read only metrics the service exports (or other rules), with labels their series carry', () => {
    for (const rule of RULES) {
      expectExported(`${rule.file} ${rule.alert ?? rule.record}`, parsePromQL(rule.expr).selectors, (metric) => recordedNames.has(metric) || PROMETHEUS_MADE.has(metric));
    }
  });

  /** The overview row titled `title`: a finder of its panels by title. */
  const overviewRow = (title: string) => {
    const overview = loadDashboard('grafana/dashboards/oddswatch-overview.json');
    const rowIndex = overview.panels.findIndex((panel) => panel.type === 'row' && panel.title === title);
    expect(rowIndex, `a "${title}" row`).toBeGreaterThanOrEqual(0);
    const end = overview.panels.findIndex((panel, index) => index > rowIndex && panel.type === 'row');
    const panels: Panel[] = overview.panels.slice(rowIndex + 1, end === -1 ? undefined : end);
    return (panelTitle: string) => {
      const panel = panels.find((candidate) => candidate.title === panelTitle);
      expect(panel, `panel "${panelTitle}" in the "${title}" row`).toBeDefined();
      return panel!;
    };
  };
  /** Each target's answer from Prometheus, as Grafana would ask it. */
  const results = async (panel: Panel) =>
    Promise.all(
      (panel.targets ?? []).map(async (target) => {
        const response = await prometheus.query(substituteVariables(target.expr!, panel.interval));
        expect(response.status, `${panel.title} ${target.refId}: ${response.error}`).toBe('success');
        return response.data?.result ?? [];
      }),
    );

  it('shows the service-health row with data of the real process: requests, errors and latency by route, memory, CPU', async () => {
    const byTitle = overviewRow('Service health');

    const [rate] = await results(byTitle('Request rate by route'));
    const routes = rate!.map((series) => series.metric.http_route);
    expect(routes).toEqual(expect.arrayContaining(['/api/runs', '/api/runs/:id', '/api/platforms']));
    const [fivexx, fourxx] = await results(byTitle('Errors by route (share of requests)'));
    // A route without errors is a 0, not a gap; the unknown run was a 404.
    expect(fivexx!.find((series) => series.metric.http_route === '/api/runs/:id')?.value?.[1]).toBe('0');
    expect(Number(fourxx!.find((series) => series.metric.http_route === '/api/runs/:id')?.value?.[1])).toBeGreaterThan(0);
    const latency = await results(byTitle('Latency by route (p50, p95, p99)'));
    for (const quantile of latency) expect(quantile.map((series) => series.metric.http_route)).toContain('/api/runs/:id');
    const [rss, heap] = await results(byTitle('Process memory'));
    expect(Number(rss![0]?.value?.[1])).toBeGreaterThan(Number(heap![0]?.value?.[1]));
    const [cpu] = await results(byTitle('Process CPU'));
    expect(cpu!.map((series) => series.metric.cpu_mode).sort()).toEqual(['system', 'user']);
    for (const title of ['Event loop', 'Open file descriptors', 'Database statements p95 by statement']) {
      const answers = await results(byTitle(title));
      expect(answers.every((answer) => answer.length > 0), `${title} returned no data`).toBe(true);
    }
  });

  it("shows the browser row with data of the replica's real Chromium: pages open and queued, memory, page duration by outcome, restarts by cause", async () => {
    const byTitle = overviewRow('Browser');
    const instance = new URL(service.url).host;
    const [open, queued] = await results(byTitle('Browser pages open and queued'));
    // Both runs are over: nothing open, nothing waiting.
    for (const answer of [open!, queued!]) expect(answer.map((series) => [series.metric.instance, series.value?.[1]])).toEqual([[instance, '0']]);
    const [memory] = await results(byTitle('Browser memory per replica'));
    expect(memory!.map((series) => series.metric.instance)).toEqual([instance]);
    // Chromium with its processes: tens of MB at least, far below the machine.
    expect(Number(memory![0]!.value?.[1])).toBeGreaterThan(10 * 1024 ** 2);
    expect(Number(memory![0]!.value?.[1])).toBeLessThan(4 * 1024 ** 3);
    const [p50, p95] = await results(byTitle('Browser page duration p50, p95 by outcome'));
    const byOutcome = (answer: typeof p50) => Object.fromEntries(answer!.map((series) => [series.metric.outcome, Number(series.value?.[1])]));
    const [median, tail] = [byOutcome(p50), byOutcome(p95)];
    expect(Object.keys(median).sort()).toEqual(['completed', 'failed']);
    for (const outcome of ['completed', 'failed']) {
      expect(median[outcome], `${outcome} p50`).toBeGreaterThan(0);
      expect(tail[outcome], `${outcome} p95`).toBeGreaterThanOrEqual(median[outcome]!);
    }
    // spa-moved held its page for its whole 1 s wait before failing layout.
    expect(median.failed).toBeGreaterThanOrEqual(1);
    const [restarts] = await results(byTitle('Browser restarts by cause'));
    const byCause = Object.fromEntries(restarts!.map((series) => [series.metric.cause, Number(series.value?.[1])]));
    // Five pages at two a browser: two planned recycles, nothing else.
    expect(Object.keys(byCause).sort()).toEqual(['crash', 'memory', 'pages', 'unresponsive']);
    expect(Math.round(byCause.pages!)).toBe(2);
    expect([byCause.crash, byCause.memory, byCause.unresponsive]).toEqual([0, 0, 0]);
  });

  it("shows the platforms dashboard's failures by reason: the failing platform's series carries its step's reason", async () => {
    const platformsDashboard = loadDashboard('grafana/dashboards/oddswatch-platforms.json');
    const panel = platformsDashboard.panels.find((candidate) => candidate.title === 'Failures by reason');
    expect(panel, 'a "Failures by reason" panel').toBeDefined();
    // Every platform selected ($platform), not the placeholder names substituteVariables gives it.
    const expr = substituteVariables(panel!.targets![0]!.expr!.replaceAll('$platform', '.+'), panel!.interval);
    const response = await prometheus.query(expr);
    expect(response.status, `${expr}: ${response.error}`).toBe('success');
    // redfox fails every scrape (failureRate 1: HTTP 503) and spa-moved's page never shows what it waits for;
    // northwind and the other browser platforms, which completed, have no series here.
    expect((response.data?.result ?? []).map((series) => [series.metric.platform, series.metric.reason]).sort()).toEqual([['redfox', 'http_5xx'], ['spa-moved', 'layout']]);
  });
});
