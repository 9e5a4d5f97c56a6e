import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { stringify } from 'yaml';
import { repoPath } from './repo.js';
import { freeLoopbackPort } from '../../src/net.js';
import { waitFor } from '../helpers/waitFor.js';

export { waitFor };

/**
 * A real Prometheus server (Debian's /usr/bin/prometheus, 2.42) for tests: loopback only, a
 * temporary config and data directory, the given scrape targets and rule files.
 *
 *   const prom = await startPrometheus({
 *     scrapeTargets: ['127.0.0.1:3000'],            // scraped as job="oddswatch", path /metrics
 *     ruleFiles: ['grafana/alerts/oddswatch.rules.yml'],
 *     scrapeIntervalSeconds: 1,
 *     evaluationIntervalSeconds: 1,
 *   });
 *   try {
 *     await waitFor(async () => (await prom.query('up')).data?.result.length === 1, { timeoutMs: 10_000 });
 *     const alerts = await prom.alerts();
 *   } finally {
 *     await prom.stop();
 *   }
 *
 * Notes for Prometheus 2.42:
 * - The first scrape comes about 5 s after /-/ready: the discovery manager hands targets to the
 *   scrape manager on a fixed 5 s tick (no flag to shorten it before 2.48). Wait for `up` with a
 *   deadline of 10 s or more rather than assuming a scrape has happened.
 * - Intervals are Prometheus durations; sub-second values are written in ms ("500ms"). The scrape
 *   timeout is kept at or below the scrape interval, as Prometheus requires.
 * - `for:` in a rule file is checked at evaluation time: an alert becomes firing at the first
 *   evaluation at least `for` after it went pending, so allow one evaluation interval of slack.
 *   Rules with `for: 5m` stay pending for 5 real minutes; tests on loopback should assert on the
 *   pending state, or load a copy of the rules with shorter durations.
 */

export interface PrometheusOptions {
  /** host:port targets, loopback only (e.g. the service under test on port 0). */
  scrapeTargets?: string[];
  /** Job name of the targets; the oddswatch rules expect "oddswatch". */
  jobName?: string;
  metricsPath?: string;
  /** Rule files, absolute or relative to the repository root. */
  ruleFiles?: string[];
  scrapeIntervalSeconds?: number;
  /** Defaults to the scrape interval. */
  evaluationIntervalSeconds?: number;
  /** How long to wait for /-/ready. */
  readyTimeoutMs?: number;
  /** Defaults to $PROMETHEUS_BIN or /usr/bin/prometheus. */
  binary?: string;
}

/** The JSON envelope of Prometheus' HTTP API. */
export interface ApiResponse<T> {
  status: 'success' | 'error';
  data?: T;
  errorType?: string;
  error?: string;
  warnings?: string[];
}

export interface InstantVector {
  resultType: 'vector' | 'matrix' | 'scalar' | 'string';
  result: { metric: Record<string, string>; value?: [number, string] }[];
}

export interface PrometheusAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: 'pending' | 'firing';
  activeAt: string;
  value: string;
}

export interface PrometheusServer {
  /** e.g. http://127.0.0.1:41234 */
  readonly url: string;
  readonly port: number;
  /** The temporary directory holding the config and the TSDB; removed by stop(). */
  readonly dir: string;
  /** Instant query at `time` (default now). Resolves with Prometheus' answer, errors included. */
  query(expr: string, time?: Date): Promise<ApiResponse<InstantVector>>;
  /** Pending and firing alerts, from /api/v1/alerts. */
  alerts(): Promise<PrometheusAlert[]>;
  /** Everything the server logged so far (stdout and stderr), for assertion messages. */
  logs(): string;
  /** Kills the process, waits for it to exit and removes the temporary directory. Idempotent. */
  stop(): Promise<void>;
}

const LOOPBACK = '127.0.0.1';

const duration = (seconds: number) => (Number.isInteger(seconds) ? `${seconds}s` : `${Math.round(seconds * 1000)}ms`);

function writeConfig(dir: string, options: PrometheusOptions): string {
  const scrapeInterval = options.scrapeIntervalSeconds ?? 15;
  const targets = options.scrapeTargets ?? [];
  for (const target of targets) {
    const host = target.replace(/:\d+$/, '');
    if (!['127.0.0.1', 'localhost', '[::1]'].includes(host) && !host.startsWith('127.')) {
      throw new Error(`scrape target ${target} is not on loopback`);
    }
  }
  const config = {
    global: {
      scrape_interval: duration(scrapeInterval),
      scrape_timeout: duration(Math.min(scrapeInterval, 10)),
      evaluation_interval: duration(options.evaluationIntervalSeconds ?? scrapeInterval),
    },
    rule_files: (options.ruleFiles ?? []).map((file) => (isAbsolute(file) ? file : repoPath(file))),
    scrape_configs: targets.length
      ? [{ job_name: options.jobName ?? 'oddswatch', metrics_path: options.metricsPath ?? '/metrics', static_configs: [{ targets }] }]
      : [],
  };
  const path = join(dir, 'prometheus.yml');
  writeFileSync(path, stringify(config));
  return path;
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

async function startOnce(options: PrometheusOptions, dir: string): Promise<Omit<PrometheusServer, 'dir'>> {
  const port = await freeLoopbackPort();
  const url = `http://${LOOPBACK}:${port}`;
  const configPath = writeConfig(dir, options);
  const binary = options.binary ?? process.env.PROMETHEUS_BIN ?? '/usr/bin/prometheus';
  let output = '';
  const child = spawn(
    binary,
    [
      `--config.file=${configPath}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=${LOOPBACK}:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let spawnFailure: Error | null = null;
  child.once('error', (error) => (spawnFailure = error));
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));

  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null || spawnFailure) return;
    child.kill('SIGTERM');
    const exitedInTime = await Promise.race([
      exited(child).then(() => true),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 5_000)),
    ]);
    if (!exitedInTime) {
      child.kill('SIGKILL');
      await exited(child);
    }
  };

  // Poll /-/ready until the deadline; give up at once if the process died (bad config, port taken).
  const deadline = Date.now() + (options.readyTimeoutMs ?? 20_000);
  let ready = false;
  while (!ready && !spawnFailure && child.exitCode === null && Date.now() < deadline) {
    ready = (await fetch(`${url}/-/ready`).catch(() => null))?.ok ?? false;
    if (!ready) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  if (!ready) {
    await stop();
    const failure = spawnFailure as Error | null;
    if (failure) throw new Error(`cannot start ${binary}: ${failure.message} (on Debian: apt-get install -y prometheus)`);
    if (/address already in use/.test(output)) throw new PortTaken(output);
    const why = child.exitCode !== null ? `exited with code ${child.exitCode}` : `was not ready within ${options.readyTimeoutMs ?? 20_000} ms`;
    throw new Error(`Prometheus on ${url} ${why}\n--- prometheus output ---\n${output}`);
  }

  const api = async <T>(path: string, body?: URLSearchParams): Promise<ApiResponse<T>> => {
    const response = await fetch(`${url}${path}`, body ? { method: 'POST', body } : undefined);
    return (await response.json()) as ApiResponse<T>;
  };

  return {
    url,
    port,
    query: (expr, time) => {
      const body = new URLSearchParams({ query: expr });
      if (time) body.set('time', String(time.getTime() / 1000));
      return api<InstantVector>('/api/v1/query', body);
    },
    alerts: async () => {
      const response = await api<{ alerts: PrometheusAlert[] }>('/api/v1/alerts');
      if (response.status !== 'success') throw new Error(`/api/v1/alerts: ${response.error}`);
      return response.data?.alerts ?? [];
    },
    logs: () => output,
    stop,
  };
}

class PortTaken extends Error {}

/** Starts Prometheus and resolves once /-/ready answers 200. Always call stop() (e.g. in afterAll). */
export async function startPrometheus(options: PrometheusOptions = {}): Promise<PrometheusServer> {
  const dir = mkdtempSync(join(tmpdir(), 'oddswatch-prometheus-'));
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  // The free port can be taken between probing and binding: try again on another port.
  for (let attempt = 1; ; attempt += 1) {
    try {
      const server = await startOnce(options, dir);
      let stopped = false;
      return {
        ...server,
        dir,
        stop: async () => {
          if (stopped) return;
          stopped = true;
          await server.stop();
          cleanup();
        },
      };
    } catch (error) {
      if (error instanceof PortTaken && attempt < 3) continue;
      cleanup();
      throw error;
    }
  }
}

/**
 * Prometheus scraping one service every second with `ruleFiles` evaluated every second, resolved once
 * `baseline` (a counter's pre-zeroed series) has been scraped: increase() cannot see a first change
 * that happens before the zero is in.
 */
export async function scrapeEverySecond(port: number, ruleFiles: string[], baseline: string): Promise<PrometheusServer> {
  const prometheus = await startPrometheus({ scrapeTargets: [`127.0.0.1:${port}`], ruleFiles, scrapeIntervalSeconds: 1, evaluationIntervalSeconds: 1 });
  await waitFor(async () => ((await prometheus.query(baseline)).data?.result.length ?? 0) === 1, {
    timeoutMs: 30_000,
    what: 'Prometheus to scrape the service',
  });
  return prometheus;
}
