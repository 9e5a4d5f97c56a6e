import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { allPanels, DASHBOARD_FILES, labelsOfEverySeries, loadDashboard, resolveUid } from './dashboards.js';
import { filesEndingWith, readYaml, repoPath, ROOT, run } from './repo.js';

/**
 * The stack's configuration files agree with each other: collector pipelines, compose services
 * and mounts, Prometheus targets and rule files, Alertmanager routes, Grafana data sources and
 * dashboards. Real tools validate where they exist here (docker-compose v1, promtool, amtool).
 */

type Pipeline = { receivers?: string[]; processors?: string[]; exporters?: string[] };
interface CollectorConfig {
  receivers?: Record<string, unknown>;
  processors?: Record<string, unknown>;
  exporters?: Record<string, unknown>;
  connectors?: Record<string, unknown>;
  extensions?: Record<string, unknown>;
  service: { extensions?: string[]; pipelines: Record<string, Pipeline> };
}
interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile?: string; args?: Record<string, string> };
  environment?: Record<string, string>;
  volumes?: string[];
  depends_on?: Record<string, { condition?: string }> | string[];
  healthcheck?: { test?: string[] | string; disable?: boolean };
  mem_limit?: string;
  deploy?: { resources?: { limits?: { memory?: string } } };
}
interface Compose {
  name?: string;
  services: Record<string, ComposeService>;
}
interface PrometheusConfig {
  rule_files?: string[];
  alerting?: { alertmanagers: { static_configs: { targets: string[] }[] }[] };
  scrape_configs: { job_name: string; static_configs?: { targets: string[] }[] }[];
}
interface DataSource {
  name: string;
  uid: string;
  type: string;
  url?: string;
  jsonData?: {
    serviceMap?: { datasourceUid?: string };
    tracesToLogsV2?: { datasourceUid?: string; customQuery?: boolean; query?: string; tags?: { key: string; value?: string }[] };
    derivedFields?: { name: string; matcherType?: string; matcherRegex: string; datasourceUid?: string; url: string }[];
    tracesToMetrics?: { datasourceUid?: string };
    exemplarTraceIdDestinations?: { datasourceUid?: string }[];
    alertmanagerUid?: string;
  };
}

const collector = readYaml<CollectorConfig>('otel-collector/config.yaml');
const compose = readYaml<Compose>('docker-compose.yml');
const prometheus = readYaml<PrometheusConfig>('prometheus/prometheus.yml');
const services = Object.keys(compose.services);
const loki = readYaml<{
  server: { http_listen_port: number };
  limits_config?: { allow_structured_metadata?: boolean };
  schema_config: { configs: { store: string; schema: string }[] };
}>('loki/loki.yaml');
const dataSources = readdirSync(repoPath('grafana/provisioning/datasources'))
  .filter((file) => /\.ya?ml$/.test(file))
  .flatMap((file) => readYaml<{ datasources: DataSource[] }>(`grafana/provisioning/datasources/${file}`).datasources);
const provisionedUids = new Set(dataSources.map((source) => source.uid));

const hasBinary = (command: string) => !spawnSync(command, ['--version'], { stdio: 'ignore' }).error;
const HAS_COMPOSE = hasBinary('docker-compose');
const HAS_AMTOOL = hasBinary('amtool');
const HAS_PROMTOOL = hasBinary('promtool');
const missing = (tool: string, pkg: string) => ` (SKIPPED: ${tool} is not installed; apt-get install -y ${pkg})`;

/** "host:port" or "http://host:port/path" -> host */
const hostOf = (address: string) => new URL(address.includes('://') ? address : `tcp://${address}`).hostname;

/** Bind mounts of a service: [hostPath (repo-relative), containerPath]. */
function bindMounts(service: ComposeService): [string, string][] {
  return (service.volumes ?? [])
    .map((volume) => volume.split(':'))
    .filter(([source]) => source!.startsWith('.') || source!.startsWith('/'))
    .map(([source, target]) => [posix.normalize(source!), target!]);
}

/** The repository path a container path of `service` comes from, through its bind mounts. */
function hostPathOf(service: ComposeService, containerPath: string): string | undefined {
  for (const [source, target] of bindMounts(service)) {
    if (containerPath === target) return source;
    if (containerPath.startsWith(`${target}/`)) return posix.join(source, containerPath.slice(target.length + 1));
  }
  return undefined;
}

/** Files matching a path whose last segment may contain `*`. */
function glob(repoRelative: string): string[] {
  const dir = posix.dirname(repoRelative);
  const pattern = new RegExp(`^${posix.basename(repoRelative).replace(/[.+?^${}()|[\]\\]/g, '\\$&').replaceAll('*', '.*')}$`);
  if (!existsSync(repoPath(dir))) return [];
  return readdirSync(repoPath(dir)).filter((name) => pattern.test(name)).map((name) => posix.join(dir, name));
}

describe('OpenTelemetry Collector config', () => {
  const pipelines = Object.entries(collector.service.pipelines);
  const connectors = Object.keys(collector.connectors ?? {});

  it.each(pipelines)('pipeline %s references only defined components', (_name, pipeline) => {
    for (const receiver of pipeline.receivers ?? []) {
      expect([...Object.keys(collector.receivers ?? {}), ...connectors], `receiver ${receiver}`).toContain(receiver);
    }
    for (const processor of pipeline.processors ?? []) expect(Object.keys(collector.processors ?? {})).toContain(processor);
    for (const exporter of pipeline.exporters ?? []) {
      expect([...Object.keys(collector.exporters ?? {}), ...connectors], `exporter ${exporter}`).toContain(exporter);
    }
    expect(pipeline.receivers?.length, 'receivers').toBeGreaterThan(0);
    expect(pipeline.exporters?.length, 'exporters').toBeGreaterThan(0);
  });

  it.each(pipelines)('pipeline %s runs memory_limiter first and batches', (_name, pipeline) => {
    expect(pipeline.processors?.[0]).toBe('memory_limiter');
    expect(pipeline.processors).toContain('batch');
  });

  it('uses every connector as an exporter of one pipeline and a receiver of another', () => {
    for (const connector of connectors) {
      expect(pipelines.some(([, p]) => p.exporters?.includes(connector)), `${connector} as exporter`).toBe(true);
      expect(pipelines.some(([, p]) => p.receivers?.includes(connector)), `${connector} as receiver`).toBe(true);
    }
  });

  it('receives OTLP over gRPC and HTTP, sends traces to Tempo and exposes span metrics on :8889', () => {
    const otlp = collector.receivers?.otlp as { protocols: { grpc?: unknown; http?: unknown } };
    expect(otlp.protocols.grpc).toBeTruthy();
    expect(otlp.protocols.http).toBeTruthy();
    const traces = collector.service.pipelines.traces!;
    const tempo = traces.exporters!.find((exporter) => exporter.split('/')[0] === 'otlp')!;
    expect((collector.exporters?.[tempo] as { endpoint: string }).endpoint).toBe('tempo:4317');
    expect(traces.exporters).toContain('spanmetrics');
    expect((collector.exporters?.prometheus as { endpoint: string }).endpoint).toMatch(/:8889$/);
  });

  it('sends log records to Loki: a logs pipeline from OTLP, through otlphttp to the compose Loki /otlp endpoint', () => {
    const logs = collector.service.pipelines.logs!;
    expect(logs, 'logs pipeline').toBeDefined();
    expect(logs.receivers).toEqual(['otlp']);
    expect(logs.processors).toEqual(['memory_limiter', 'batch']);
    expect(logs.exporters).toHaveLength(1);
    const exporter = logs.exporters![0]!;
    expect(exporter.split('/')[0]).toBe('otlphttp');
    const endpoint = new URL((collector.exporters?.[exporter] as { endpoint: string }).endpoint);
    expect(compose.services[endpoint.hostname]?.image).toBe('${LOKI_IMAGE}');
    expect(Number(endpoint.port)).toBe(loki.server.http_listen_port);
    expect(endpoint.pathname).toBe('/otlp');
  });

  it('enables a defined health_check extension', () => {
    expect(Object.keys(collector.extensions ?? {})).toContain('health_check');
    for (const extension of collector.service.extensions ?? []) expect(Object.keys(collector.extensions ?? {})).toContain(extension);
    expect(collector.service.extensions).toContain('health_check');
  });
});

describe('docker-compose.yml', () => {
  const env = Object.fromEntries(
    readFileSync(repoPath('.env'), 'utf8')
      .split('\n')
      .filter((line) => /^\w+=/.test(line))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );

  it.skipIf(!HAS_COMPOSE)(`passes docker-compose config -q${HAS_COMPOSE ? '' : missing('docker-compose', 'docker-compose')}`, async () => {
    const result = await run('docker-compose', ['--project-directory', ROOT, '-f', repoPath('docker-compose.yml'), 'config', '-q']);
    expect(result.code, result.output).toBe(0);
  });

  it('has no top-level name (docker-compose v1 rejects it)', () => {
    expect(compose).not.toHaveProperty('name');
  });

  it.each(services)('%s has a healthcheck, a memory limit and waits for healthy dependencies', (name) => {
    const service = compose.services[name]!;
    expect(service.healthcheck?.test, 'healthcheck').toBeTruthy();
    expect(service.healthcheck?.disable).not.toBe(true);
    expect(service.mem_limit ?? service.deploy?.resources?.limits?.memory, 'memory limit').toBeTruthy();
    const dependsOn = service.depends_on ?? {};
    expect(Array.isArray(dependsOn), 'depends_on with conditions, not a list').toBe(false);
    for (const [dependency, { condition }] of Object.entries(dependsOn)) {
      expect(services, `depends on unknown service ${dependency}`).toContain(dependency);
      expect(['service_healthy', 'service_completed_successfully'], `${dependency} condition`).toContain(condition);
    }
  });

  it.each(services)('%s uses an image pinned in .env (or builds one from pinned images)', (name) => {
    const service = compose.services[name]!;
    const variables = [service.image ?? '', ...Object.values(service.build?.args ?? {})]
      .flatMap((value) => [...value.matchAll(/\$\{(\w+)\}/g)].map((match) => match[1]!));
    if (!service.build) expect(variables.length, `${name} image comes from .env`).toBe(1);
    for (const variable of variables) {
      expect(env[variable], `${variable} in .env`).toMatch(/^[\w./-]+:[\w.-]+$/);
      expect(env[variable]).not.toMatch(/:latest$/);
    }
  });

  it('mounts only files and directories that exist in the repository, and builds from existing Dockerfiles', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      for (const [source] of bindMounts(service)) expect(existsSync(repoPath(source)), `${name} mounts ${source}`).toBe(true);
      if (service.build) {
        const dockerfile = posix.join(service.build.context, service.build.dockerfile ?? 'Dockerfile');
        expect(existsSync(repoPath(dockerfile)), `${name} builds ${dockerfile}`).toBe(true);
      }
    }
  });

  it('gives each replica a memory limit that holds its browser: BROWSER_MAX_MEMORY_MB below it with room for the service', () => {
    const bytes = (size: string) => {
      const match = /^(\d+)([kmg])?$/i.exec(size)!;
      return Number(match[1]) * 1024 ** ' kmg'.indexOf((match[2] ?? ' ').toLowerCase());
    };
    for (const name of services.filter((service) => /^app-\d+$/.test(service))) {
      const service = compose.services[name]!;
      const limit = bytes(service.mem_limit!);
      // As the service reads them.
      const config = loadConfig({ BROWSER_MAX_PAGES: service.environment?.BROWSER_MAX_PAGES, BROWSER_MAX_MEMORY_MB: service.environment?.BROWSER_MAX_MEMORY_MB });
      const browserBound = config.browserMaxMemoryMb * 1024 ** 2;
      expect(config.browserMaxPages, `${name} BROWSER_MAX_PAGES`).toBe(2);
      expect(limit, `${name} mem_limit`).toBeGreaterThanOrEqual(1024 ** 3);
      // The bound must leave the service its own memory under the limit, or the OOM killer comes before the
      // recycle: 384 MiB (the built service held 350 MB of RSS after the runs of dashboard-queries.test.ts).
      expect(service.environment?.BROWSER_MAX_MEMORY_MB, `${name} sets BROWSER_MAX_MEMORY_MB (the default is above the limit)`).toBeDefined();
      expect(browserBound + 384 * 1024 ** 2, `${name}: BROWSER_MAX_MEMORY_MB + 384 MiB within mem_limit`).toBeLessThanOrEqual(limit);
    }
  });

  it("points the app's OTLP endpoint at a compose service", () => {
    const endpoint = compose.services['app-1']?.environment?.OTEL_EXPORTER_OTLP_ENDPOINT ?? '';
    expect(services).toContain(hostOf(endpoint));
  });

  it('lets the app export its logs over OTLP (OTEL_LOGS_EXPORTER not forced to none)', () => {
    expect(compose.services['app-1']?.environment?.OTEL_LOGS_EXPORTER ?? 'otlp').not.toBe('none');
  });

  it('runs Loki with loki/loki.yaml, structured metadata on (trace_id of OTLP lines) and a tsdb v13 schema', () => {
    const service = compose.services.loki!;
    const configArg = ([] as string[]).concat((service as { command?: string[] }).command ?? []).find((arg) => arg.startsWith('-config.file='));
    expect(hostPathOf(service, configArg!.slice('-config.file='.length))).toBe('loki/loki.yaml');
    expect(loki.limits_config?.allow_structured_metadata).toBe(true);
    expect(loki.schema_config.configs.at(-1)).toMatchObject({ store: 'tsdb', schema: 'v13' });
  });

  it('links traces to Grafana through TRACE_URL_TEMPLATE with a {traceId} placeholder', () => {
    expect(compose.services['app-1']?.environment?.TRACE_URL_TEMPLATE).toContain('{traceId}');
  });
});

describe('several replicas behind nginx', () => {
  const replicas = services.filter((name) => /^app-\d+$/.test(name));
  const nginxConf = readFileSync(repoPath('deploy/nginx/oddswatch.conf'), 'utf8');

  it('runs two replicas of the same image with the same settings', () => {
    expect(replicas).toEqual(['app-1', 'app-2']);
    const [first, second] = replicas.map((name) => compose.services[name]!);
    expect(second!.image).toBe(first!.image);
    const { OTEL_RESOURCE_ATTRIBUTES: _a, ...firstEnv } = first!.environment ?? {};
    const { OTEL_RESOURCE_ATTRIBUTES: _b, ...secondEnv } = second!.environment ?? {};
    expect(secondEnv).toEqual(firstEnv);
    expect(firstEnv.DATABASE_URL).toContain('@postgres:');
  });

  it('puts nginx (image pinned in .env) with the shipped config in front of exactly those replicas, on their port', () => {
    const nginx = compose.services.nginx!;
    expect(nginx.image).toBe('${NGINX_IMAGE}');
    expect(bindMounts(nginx)).toContainEqual(['deploy/nginx/oddswatch.conf', '/etc/nginx/conf.d/default.conf']);
    const upstreams = [...nginxConf.matchAll(/^\s*server\s+([\w.-]+):(\d+)/gm)].map((match) => `${match[1]}:${match[2]}`);
    expect(upstreams).toEqual(replicas.map((name) => `${name}:${compose.services[name]!.environment?.PORT}`));
    expect(nginxConf).toMatch(/proxy_buffering off;/);
    expect(nginxConf).toMatch(/proxy_http_version 1\.1;/);
    const readTimeout = Number(/proxy_read_timeout (\d+)s;/.exec(nginxConf)?.[1]);
    expect(readTimeout).toBeGreaterThan(15); // the default SSE heartbeat
    for (const name of replicas) expect((compose.services[name] as { ports?: string[] }).ports ?? []).toEqual([]);
  });
});

describe('Prometheus config', () => {
  const service = compose.services.prometheus!;

  it('scrapes the service as job "oddswatch" and the collector as job "otel-collector", all on compose services', () => {
    const jobs = Object.fromEntries(prometheus.scrape_configs.map((job) => [job.job_name, job.static_configs?.flatMap((c) => c.targets) ?? []]));
    expect(jobs.oddswatch).toEqual(['app-1:3000', 'app-2:3000']);
    expect(jobs['otel-collector']).toEqual(['otel-collector:8889']);
    for (const [job, targets] of Object.entries(jobs)) {
      for (const target of targets) {
        const host = hostOf(target);
        if (host !== 'localhost') expect(services, `${job} target ${target}`).toContain(host);
      }
    }
  });

  it('sends alerts to the compose alertmanager', () => {
    const targets = prometheus.alerting?.alertmanagers.flatMap((a) => a.static_configs.flatMap((c) => c.targets)) ?? [];
    expect(targets.length).toBeGreaterThan(0);
    for (const target of targets) expect(services).toContain(hostOf(target));
  });

  it('loads rule files that exist in the repository through its mounts', () => {
    expect(prometheus.rule_files?.length).toBeGreaterThan(0);
    for (const pattern of prometheus.rule_files ?? []) {
      const hostPattern = hostPathOf(service, pattern);
      expect(hostPattern, `${pattern} is not under a mount of the prometheus service`).toBeDefined();
      expect(glob(hostPattern!).length, `${pattern} (${hostPattern}) matches no file`).toBeGreaterThan(0);
    }
    expect(hostPathOf(service, '/etc/prometheus/prometheus.yml')).toBe('prometheus/prometheus.yml');
  });

  it('loads every rule file of grafana/alerts (a new one needs no other wiring)', () => {
    const loaded = new Set((prometheus.rule_files ?? []).flatMap((pattern) => glob(hostPathOf(service, pattern) ?? '')));
    const ruleFiles = filesEndingWith('grafana/alerts', '.rules.yml');
    expect(ruleFiles).toContain('grafana/alerts/browser.rules.yml');
    for (const file of ruleFiles) expect(loaded, `${file} is not loaded by prometheus/prometheus.yml`).toContain(file);
  });

  it.skipIf(!HAS_PROMTOOL)(`passes promtool check config${HAS_PROMTOOL ? '' : missing('promtool', 'prometheus')}`, async () => {
    const result = await run('promtool', ['check', 'config', repoPath('prometheus/prometheus.yml')]);
    expect(result.code, result.output).toBe(0);
  });
});

describe('Alertmanager config', () => {
  const file = repoPath('alertmanager/alertmanager.yml');
  const routeOf = async (...labels: string[]) =>
    // amtool prints the receiver on the first line (a warning about --alertmanager.url may follow).
    (await run('amtool', ['config', 'routes', 'test', `--config.file=${file}`, ...labels])).output.trim().split('\n')[0];

  it.skipIf(!HAS_AMTOOL)(`passes amtool check-config${HAS_AMTOOL ? '' : missing('amtool', 'prometheus-alertmanager')}`, async () => {
    const result = await run('amtool', ['check-config', file]);
    expect(result.code, result.output).toBe(0);
  });

  it.skipIf(!HAS_AMTOOL)(`routes pages to the pager and tickets to the ticket receiver${HAS_AMTOOL ? '' : missing('amtool', 'prometheus-alertmanager')}`, async () => {
    expect(await routeOf('alertname=OddswatchDown', 'severity=page')).toBe('pager');
    expect(await routeOf('alertname=OddswatchStaleRuns', 'severity=ticket')).toBe('tickets');
  });

  it.skipIf(!HAS_AMTOOL)(`routes every alert of the rule files by its severity${HAS_AMTOOL ? '' : missing('amtool', 'prometheus-alertmanager')}`, async () => {
    const alerts = filesEndingWith('grafana/alerts', '.rules.yml').flatMap((file) =>
      readYaml<{ groups: { rules: { alert?: string; labels?: { severity?: string } }[] }[] }>(file).groups.flatMap((group) => group.rules.filter((rule) => rule.alert)),
    );
    expect(alerts.map((rule) => rule.alert)).toContain('OddswatchBrowserRestarting');
    for (const rule of alerts) {
      const severity = rule.labels?.severity ?? '';
      expect(await routeOf(`alertname=${rule.alert!}`, `severity=${severity}`), `${rule.alert} (${severity})`).toBe(severity === 'page' ? 'pager' : 'tickets');
    }
  });

  it('groups by alertname and inhibits a ticket while a page of the same alert fires', () => {
    const config = readYaml<{
      route: { group_by: string[] };
      inhibit_rules: { source_matchers: string[]; target_matchers: string[]; equal: string[] }[];
    }>('alertmanager/alertmanager.yml');
    expect(config.route.group_by).toEqual(['alertname']);
    expect(config.inhibit_rules).toContainEqual(
      expect.objectContaining({ source_matchers: ['severity="page"'], target_matchers: ['severity="ticket"'], equal: expect.arrayContaining(['alertname']) }),
    );
  });
});

describe('Grafana provisioning and dashboards', () => {
  const grafana = compose.services.grafana!;

  it('provisions Prometheus, Tempo, Loki and Alertmanager with fixed, unique uids, linked to each other', () => {
    expect(provisionedUids.size).toBe(dataSources.length);
    const byType = Object.fromEntries(dataSources.map((source) => [source.type, source]));
    expect(byType.prometheus?.uid).toBe('prometheus');
    expect(byType.tempo?.uid).toBe('tempo');
    expect(byType.loki?.uid).toBe('loki');
    expect(byType.alertmanager?.uid).toBe('alertmanager');
    const links = [
      byType.tempo?.jsonData?.serviceMap?.datasourceUid,
      byType.tempo?.jsonData?.tracesToMetrics?.datasourceUid,
      byType.tempo?.jsonData?.tracesToLogsV2?.datasourceUid,
      ...(byType.loki?.jsonData?.derivedFields ?? []).map((d) => d.datasourceUid),
      byType.prometheus?.jsonData?.alertmanagerUid,
      ...(byType.prometheus?.jsonData?.exemplarTraceIdDestinations ?? []).map((d) => d.datasourceUid),
    ];
    for (const uid of links) expect(provisionedUids, `linked data source ${uid}`).toContain(uid);
  });

  it('queries the compose Loki on its configured port', () => {
    const source = dataSources.find((candidate) => candidate.type === 'loki')!;
    const url = new URL(source.url!);
    expect(compose.services[url.hostname]?.image).toBe('${LOKI_IMAGE}');
    expect(Number(url.port)).toBe(loki.server.http_listen_port);
  });

  it('links a log line to its trace: a derived field on the trace_id label opens the Tempo data source', () => {
    const fields = dataSources.find((source) => source.type === 'loki')!.jsonData?.derivedFields ?? [];
    const traceField = fields.find((field) => field.matcherRegex === 'trace_id');
    expect(traceField, 'a derived field on trace_id').toBeDefined();
    // OTLP lines carry trace_id as structured metadata: matched as a label, not by a regex on the line.
    expect(traceField!.matcherType).toBe('label');
    expect(dataSources.find((source) => source.uid === traceField!.datasourceUid)?.type).toBe('tempo');
    // `$$` is Grafana's escape for `$` in provisioning files: the query is the raw value.
    expect(traceField!.url).toBe('$${__value.raw}');
  });

  it("links a trace to its logs: Tempo's tracesToLogsV2 queries Loki by service and trace_id", () => {
    const toLogs = dataSources.find((source) => source.type === 'tempo')!.jsonData?.tracesToLogsV2;
    expect(dataSources.find((source) => source.uid === toLogs?.datasourceUid)?.type).toBe('loki');
    expect(toLogs?.tags).toContainEqual({ key: 'service.name', value: 'service_name' });
    expect(toLogs?.customQuery).toBe(true);
    // Loki's OTLP ingestion indexes service.name as service_name and keeps trace_id as structured metadata.
    expect(toLogs?.query).toBe('{$${__tags}} | trace_id="$${__trace.traceId}"');
  });

  it('loads the dashboards directory through the provider and the compose mount', () => {
    const providers = readdirSync(repoPath('grafana/provisioning/dashboards'))
      .filter((file) => /\.ya?ml$/.test(file))
      .flatMap((file) => readYaml<{ providers: { options: { path: string } }[] }>(`grafana/provisioning/dashboards/${file}`).providers);
    expect(providers.map((provider) => hostPathOf(grafana, provider.options.path))).toContain('grafana/dashboards');
    expect(hostPathOf(grafana, '/etc/grafana/provisioning')).toBe('grafana/provisioning');
  });

  it.each(DASHBOARD_FILES)('%s parses and every panel has a title, a description and a unit', (file) => {
    const dashboard = loadDashboard(file);
    expect(dashboard.uid).toBeTruthy();
    for (const panel of allPanels(dashboard)) {
      if (panel.type === 'row') continue;
      const where = `${file} panel ${panel.id} "${panel.title ?? ''}"`;
      expect(panel.title?.trim(), `${where}: title`).toBeTruthy();
      expect(panel.description?.trim(), `${where}: description`).toBeTruthy();
      if (['timeseries', 'stat', 'gauge'].includes(panel.type)) {
        expect(panel.fieldConfig?.defaults?.unit, `${where}: unit`).toBeTruthy();
      }
    }
  });

  it.each(DASHBOARD_FILES)('%s refers only to provisioned data sources and existing dashboards', (file) => {
    const dashboard = loadDashboard(file);
    const refs = [
      ...allPanels(dashboard).flatMap((panel) => [panel.datasource, ...(panel.targets ?? []).map((target) => target.datasource)]),
      ...(dashboard.templating?.list ?? []).map((variable) => variable.datasource),
    ].filter((ref) => ref && !(typeof ref === 'object' && ref.type === 'grafana'));
    for (const ref of refs) {
      const uid = resolveUid(dashboard, ref);
      expect(provisionedUids, `${file}: data source ${JSON.stringify(ref)}`).toContain(uid);
    }
    const uids = DASHBOARD_FILES.map((other) => loadDashboard(other).uid);
    for (const link of dashboard.links ?? []) {
      const target = /^\/d\/([\w-]+)/.exec(link.url ?? '')?.[1];
      if (target) expect(uids, `${file}: link "${link.title}"`).toContain(target);
    }
  });

  it.each(DASHBOARD_FILES)('%s has a logs panel on the provisioned Loki, selecting the service as its OTLP lines are indexed', (file) => {
    const dashboard = loadDashboard(file);
    const loki = dataSources.find((source) => source.type === 'loki')!;
    const logs = allPanels(dashboard).filter((panel) => panel.type === 'logs');
    expect(logs.length, 'a logs panel').toBeGreaterThan(0);
    for (const panel of logs) {
      expect(resolveUid(dashboard, panel.datasource)).toBe(loki.uid);
      for (const target of panel.targets ?? []) {
        expect(resolveUid(dashboard, target.datasource ?? panel.datasource)).toBe(loki.uid);
        // service.name -> service_name, as Tempo's trace-to-logs query maps it.
        expect(target.expr, `${panel.title}`).toMatch(/^\{service_name="oddswatch"\}/);
      }
    }
  });

  it.each(DASHBOARD_FILES)('%s links series to their traces and logs: Explore on the provisioned Tempo and Loki, over the time range, with labels every query keeps', (file) => {
    const dashboard = loadDashboard(file);
    const byUid = new Map(dataSources.map((source) => [source.uid, source]));
    const linkedTypes = new Set<string>();
    for (const panel of allPanels(dashboard)) {
      const links = panel.fieldConfig?.defaults?.links ?? [];
      const where = `${file} panel "${panel.title}"`;
      const types = new Set<string>();
      for (const link of links) {
        expect(link.url, `${where}: ${link.title}`).toMatch(/^\/explore\?/);
        const panes = new URL(link.url, 'http://grafana').searchParams.get('panes');
        expect(panes, `${where}: ${link.title}`).toBeTruthy();
        // Grafana fills the placeholders in when the series is clicked.
        const placeholders = [...panes!.matchAll(/\$\{([^}]+)\}/g)].map((match) => match[1]!);
        for (const name of placeholders) {
          if (name === '__from' || name === '__to') continue;
          const label = /^__field\.labels\.(\w+)$/.exec(name)?.[1];
          expect(label, `${where}: ${link.title} uses \${${name}}`).toBeDefined();
          expect([...labelsOfEverySeries(panel)], `${where}: ${link.title} uses label ${label}, which not every query of the panel keeps`).toContain(label);
        }
        for (const pane of Object.values(JSON.parse(panes!.replace(/\$\{[^}]+\}/g, 'x')) as Record<string, { datasource: string; queries: { datasource: { uid: string }; query?: string; expr?: string }[]; range: unknown }>)) {
          const source = byUid.get(pane.datasource);
          expect(source?.type, `${where}: ${link.title} opens data source ${pane.datasource}`).toMatch(/^(tempo|loki)$/);
          types.add(source!.type);
          expect(pane.range).toEqual({ from: 'x', to: 'x' });
          for (const query of pane.queries) {
            expect(query.datasource.uid).toBe(pane.datasource);
            if (source!.type === 'tempo') expect(query.query).toMatch(/^\{ resource\.service\.name = "oddswatch" && /);
            else expect(query.expr).toMatch(/^\{service_name="oddswatch"\}/);
          }
        }
      }
      // A series of a route or a platform opens both its traces and its log lines.
      if (['http_route', 'platform'].some((label) => labelsOfEverySeries(panel).has(label)) && panel.type !== 'logs') {
        expect([...types].sort(), `${where}: links to its traces and logs`).toEqual(['loki', 'tempo']);
      }
      for (const type of types) linkedTypes.add(type);
    }
    expect([...linkedTypes].sort()).toEqual(['loki', 'tempo']);
  });
});
