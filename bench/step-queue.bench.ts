/**
 * Step queue figures (steps as jobs of pg-boss, shared by the replicas):
 *  1. Dispatch overhead: a 6-platform run (PLATFORMS_FILE over the simulated feeds, their own latencies) with its
 *     steps sent through the queue, against the same run with its steps handed straight to the replica's step
 *     handler (RunOverrides.dispatch = 'in-process', as before steps were jobs), alternated ABBA on two servers in
 *     this process, each on its own database: medians and their ratio (goal <= 1.05).
 *  2. Capacity: a run of 60 platforms that each take 1 s (2 pages of 500 ms), every replica with 10 HTTP slots
 *     (SCRAPE_CONCURRENCY=10), on one replica, then two, then three (replicas are servers in this process on one
 *     database: the scrapes wait on the network, not the CPU): the run's wall time against the ideal
 *     60 / (10 x replicas) s, and how many steps each replica took.
 *  3. Failover: three built replicas as child processes (npm run build first), every setting at its default but
 *     SCRAPE_CONCURRENCY=4 (so every replica takes some of a run's 11 steps) and feeds slowed to ~2.4 s per
 *     platform; a run started on A, kill -9 of a replica other than A while it scrapes at least one step: ms
 *     until the first attempt 2 starts on a survivor (the orphan check runs every 3 s by default), the run's
 *     final status, odds rows written twice, and events lost by a watcher on the run's owner (its global
 *     stream against the run's stored events, every one of them written by the replicas). 3 rounds, a fresh replica replacing the one killed.
 * Usage: npm run bench:queue (BENCH_DATABASE_URL, default the local PostgreSQL; BENCH_ROUNDS, default 10;
 * BENCH_ONLY=dispatch|capacity|failover for one of them).
 */
import { rmSync } from 'node:fs';
import { Writable } from 'node:stream';
import { loadConfig } from '../src/config.js';
import { startServer, type RunningServer } from '../src/server.js';
import type { RunDetail } from '../src/shared/contract.js';
import { createLogger } from '../src/telemetry/logger.js';
import { benchDatabase, median, simulatedPlatforms } from './support.js';
import { spawnService, type ChildService } from '../tests/helpers/childService.js';
import { connectSse } from '../tests/helpers/sseClient.js';
import { waitFor } from '../tests/helpers/waitFor.js';
import pg from 'pg';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 10);
const silent = createLogger('silent', new Writable({ write: (_chunk, _encoding, callback) => callback() }));

const serverOn = (databaseUrl: string, platformsFile: string, env: Record<string, string> = {}, dispatch: 'queue' | 'in-process' = 'queue') =>
  startServer(loadConfig({ HOST: '127.0.0.1', PORT: '0', DATABASE_URL: databaseUrl, PLATFORMS_FILE: platformsFile, SCHEDULER_ENABLED: 'false', LOG_LEVEL: 'silent', ...env }), {
    logger: silent,
    overrides: { dispatch },
  });

async function runToEnd(server: RunningServer, platforms?: string[]): Promise<RunDetail> {
  const created = await server.runs.start({ trigger: 'api', ...(platforms ? { platforms } : {}) });
  await server.runs.inFlight.list().find((entry) => entry.runId === created.id)?.done;
  return (await server.runs.reads.detailOf(created.id))!;
}

async function dispatchOverhead(): Promise<void> {
  const { file, feeds } = await simulatedPlatforms(6, {});
  const [queueDb, directDb] = [await benchDatabase(), await benchDatabase()];
  const queued = await serverOn(queueDb.url, file);
  const direct = await serverOn(directDb.url, file, {}, 'in-process');
  try {
    await runToEnd(queued);
    await runToEnd(direct);
    const times = { queued: [] as number[], direct: [] as number[] };
    for (let round = 0; round < ROUNDS; round += 1) {
      const order = round % 2 === 0 ? (['queued', 'direct'] as const) : (['direct', 'queued'] as const);
      for (const mode of order) {
        const run = await runToEnd(mode === 'queued' ? queued : direct);
        if (run.status !== 'completed') console.log(`  (${mode} run ${run.id} ended ${run.status})`);
        times[mode].push(run.durationMs!);
      }
    }
    const ratio = median(times.queued) / median(times.direct);
    console.log(`dispatch: 6-platform run through the queue ${median(times.queued)} ms, handed out in process ${median(times.direct)} ms (medians of ${ROUNDS}, ABBA): ratio ${ratio.toFixed(3)}x (goal <= 1.05)`);
  } finally {
    await queued.stop();
    await direct.stop();
    await feeds.stop();
    rmSync(file, { force: true });
    await queueDb.drop();
    await directDb.drop();
  }
}

async function capacity(): Promise<void> {
  const { file, feeds } = await simulatedPlatforms(60, { latencyMs: 500, pages: 2, eventsPerPage: 4 });
  const db = await benchDatabase();
  const replicas: RunningServer[] = [];
  try {
    for (let count = 1; count <= 3; count += 1) {
      replicas.push(await serverOn(db.url, file, { SCRAPE_CONCURRENCY: '10' }));
      await runToEnd(replicas[0]!); // warm-up with this many replicas
      const walls: number[] = [];
      let spread = '';
      for (let round = 0; round < 3; round += 1) {
        const run = await runToEnd(replicas[0]!);
        if (run.status !== 'completed') console.log(`  (run ${run.id} ended ${run.status})`);
        walls.push(run.durationMs!);
        spread = replicas.map((replica, index) => `${String.fromCharCode(65 + index)} ${run.steps.filter((step) => step.replica === replica.ownerId).length}`).join(', ');
      }
      const idealMs = (60 / (10 * count)) * 1_000;
      console.log(`capacity: ${count} replica(s) x 10 slots, 60 platforms of 1 s: run ${median(walls)} ms (median of 3), ideal ${idealMs} ms, ratio to ideal ${(median(walls) / idealMs).toFixed(2)}x; steps taken (last run): ${spread}`);
    }
  } finally {
    for (const replica of replicas.reverse()) await replica.stop();
    await feeds.stop();
    rmSync(file, { force: true });
    await db.drop();
  }
}

async function failover(): Promise<void> {
  const db = await benchDatabase();
  const env = { DATABASE_URL: db.url, SCRAPE_CONCURRENCY: '4', SIM_FEEDS: JSON.stringify({ '*': { latencyMs: 200, pages: 12, eventsPerPage: 4 }, oddsline: { latencyMs: 2400 } }) };
  const replicas: ChildService[] = [];
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  const api = async <T>(replica: ChildService, path: string, init?: RequestInit) => (await (await fetch(replica.url + path, init)).json()) as T;
  try {
    for (let index = 0; index < 3; index += 1) replicas.push(await spawnService(env));
    const ownerOf = (replica: ChildService) => String(replica.logs.find((line) => line.msg === 'oddswatch listening')!.owner_id);
    for (let round = 0; round < 3; round += 1) {
      const [owner, ...others] = replicas as [ChildService, ChildService, ChildService];
      // On the run's owner (never the one killed); the global stream starts live: connected before the run starts, it must see every event of it.
      const watcher = await connectSse(`${owner.url}/api/events`);
      const run = await api<RunDetail>(owner, '/api/runs', { method: 'POST' });
      const victim = await waitFor(
        async () => {
          const detail = await api<RunDetail>(owner, `/api/runs/${run.id}`);
          return others.find((replica) => detail.steps.some((step) => step.status === 'running' && step.replica === ownerOf(replica)));
        },
        { timeoutMs: 30_000, intervalMs: 20, what: 'a step running on B or C' },
      );
      const killedAt = Date.now();
      victim.process.kill('SIGKILL');
      await victim.exited;
      const ended = await waitFor(async () => {
        const detail = await api<RunDetail>(owner, `/api/runs/${run.id}`);
        return ['pending', 'running'].includes(detail.status) ? undefined : detail;
      }, { timeoutMs: 60_000, intervalMs: 100, what: 'the run to end' });
      const events = await client.query<{ id: string; type: string; attempt: number | null; at: Date }>(
        `select id, type, (payload->>'attempt')::int as attempt, created_at as at from run_events where run_id = $1 order by seq`,
        [run.id],
      );
      await watcher.waitForEvent((event) => event.data.type === 'run.finished' && event.data.runId === run.id, 10_000).catch(() => undefined);
      watcher.close();
      const firstAgain = events.rows.find((event) => event.type === 'platform.started' && event.attempt === 2);
      const received = new Set(watcher.events.filter((event) => event.data.runId === run.id).map((event) => String(event.id)));
      const lost = events.rows.filter((event) => !received.has(event.id)).length;
      const [duplicates] = (await client.query<{ n: number }>(`select count(*)::int as n from (select 1 from odds where run_id = $1 group by platform, event_key, market, selection, bookmaker having count(*) > 1) d`, [run.id])).rows;
      const again = ended.steps.filter((step) => step.attempt === 2).length;
      console.log(
        `failover round ${round + 1}: kill -9 of a replica holding steps; attempt 2 started ${firstAgain ? new Date(firstAgain.at).getTime() - killedAt : 'never'} ms later (${again} steps scraped again); run ${ended.status}; odds rows written twice ${duplicates!.n}; events lost by a watcher on the run's owner ${lost} of ${events.rows.length}`,
      );
      replicas.splice(replicas.indexOf(victim), 1);
      replicas.push(await spawnService(env));
    }
  } finally {
    await client.end();
    await Promise.all(replicas.map((replica) => replica.stop('SIGKILL')));
    await db.drop();
  }
}

if (!process.env.BENCH_ONLY || process.env.BENCH_ONLY === 'dispatch') await dispatchOverhead();
if (!process.env.BENCH_ONLY || process.env.BENCH_ONLY === 'capacity') await capacity();
if (!process.env.BENCH_ONLY || process.env.BENCH_ONLY === 'failover') await failover();
