import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunDetail } from '../../src/shared/contract.js';
import { slowFeeds, startReplica, startRunOn, waitForRunStatus, type Replica } from '../helpers/replicaCluster.js';
import { MetricsSnapshot } from '../helpers/metrics.js';
import { createTestDatabase, type TestDatabase } from '../helpers/testDatabase.js';
import { waitFor } from '../helpers/waitFor.js';

/**
 * Steps are jobs: three built service processes (A, B, C) on one database take a run's steps whichever of them
 * started it. Each replica has 4 HTTP slots (SCRAPE_CONCURRENCY), fewer than a run's steps: the capacity case
 * replicas exist for (with the default 256 slots one replica may take a whole run, and which one takes what
 * is a race). Runs of ~2.4 s per platform (12 pages of 200 ms), long enough to kill or cancel something
 * mid-step. Figures go to the log.
 */
let db: TestDatabase;
const replicas: Replica[] = [];
let a: Replica;
let b: Replica;
let c: Replica;

beforeAll(async () => {
  db = await createTestDatabase();
  const env = { SIM_FEEDS: slowFeeds(200, 12, 4), SCRAPE_CONCURRENCY: '4' };
  a = await startReplica('A', db.url, env);
  b = await startReplica('B', db.url, env);
  c = await startReplica('C', db.url, env);
  replicas.push(a, b, c);
}, 120_000);
afterAll(async () => {
  await Promise.all(replicas.map((replica) => replica.stop('SIGKILL')));
  await db?.drop();
});

const runOf = async (replica: Replica, runId: number) => (await (await replica.api(`/api/runs/${runId}`)).json()) as RunDetail;
const nameOf = (ownerId: string | null) => replicas.find((replica) => replica.ownerId === ownerId)?.name ?? ownerId;
const eventsOf = (runId: number, type: string) =>
  db.query<{ platform: string; attempt: number | null; replica: string | null; at: Date }>(
    `select payload->>'platform' as platform, (payload->>'attempt')::int as attempt, payload->>'replica' as replica, created_at as at from run_events where run_id = $1 and type = $2 order by seq`,
    [runId, type],
  );

describe("a run's steps as jobs over three replicas", () => {
  it('spread: a run started on A, with more steps than A has slots, is scraped by A, B and C, each step once, each saying which replica scraped it; one run.finished', async () => {
    const run = await startRunOn(a);
    const ended = await waitForRunStatus(b, run.id, ['completed', 'partial', 'failed'], 60_000);
    expect(ended.status).toBe('completed');
    const byReplica = new Map<string, string[]>();
    for (const step of ended.steps) byReplica.set(nameOf(step.replica)!, [...(byReplica.get(nameOf(step.replica)!) ?? []), step.platform]);
    expect([...byReplica.keys()].sort()).toEqual(['A', 'B', 'C']);
    expect(ended.steps.every((step) => step.attempt === 1)).toBe(true);
    // Each platform started and completed once, by the replica its step names.
    const started = await eventsOf(run.id, 'platform.started');
    expect(started.map((event) => event.platform).sort()).toEqual([...run.platforms].sort());
    for (const event of started) expect(event.replica).toBe(ended.steps.find((step) => step.platform === event.platform)!.replica);
    expect((await eventsOf(run.id, 'platform.completed')).length).toBe(run.platforms.length);
    expect((await eventsOf(run.id, 'run.finished')).length).toBe(1);
    // The run page's count of ended steps reached every platform, whichever replica ended the last one.
    expect(ended.platformsDone).toBe(run.platforms.length);
    console.info(`[steps] one run on A: ${[...byReplica].map(([name, platforms]) => `${name} ${platforms.length}`).join(', ')} steps`);
  }, 90_000);

  it('kill -9 of a replica holding steps mid-step: they are delivered again elsewhere (attempt 2) and the run completes; no duplicated odds, no lost event', async () => {
    const run = await startRunOn(a);
    // The victim: a replica other than the run's owner, scraping at least one step now.
    const holding = await waitFor(
      async () => {
        const detail = await runOf(a, run.id);
        const victim = [b, c].find((replica) => detail.steps.some((step) => step.status === 'running' && step.replica === replica.ownerId));
        return victim ? { victim, steps: detail.steps.filter((step) => step.status === 'running' && step.replica === victim.ownerId).map((step) => step.platform) } : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 20, what: 'a step running on B or C' },
    );
    const killedAt = Date.now();
    await holding.victim.stop('SIGKILL');
    replicas.splice(replicas.indexOf(holding.victim), 1);
    const survivors = replicas.map((replica) => replica.ownerId);

    const ended = await waitForRunStatus(a, run.id, ['completed', 'partial', 'failed'], 60_000);
    expect(ended.status).toBe('completed');
    for (const platform of holding.steps) expect(ended.steps.find((candidate) => candidate.platform === platform), platform).toMatchObject({ status: 'completed', attempt: 2 });
    // Those it was scraping, and any it had taken but not started yet: attempt 2, on a survivor.
    const secondAttempts = ended.steps.filter((step) => step.attempt === 2);
    for (const step of secondAttempts) expect(survivors, step.platform).toContain(step.replica);
    // The second attempt's start reached the event log this long after the kill.
    const again = (await eventsOf(run.id, 'platform.started')).filter((event) => event.attempt === 2);
    expect(again.map((event) => event.platform).sort()).toEqual(secondAttempts.map((step) => step.platform).sort());
    const handedOverMs = Math.min(...again.map((event) => new Date(event.at).getTime())) - killedAt;
    // Every platform completed once; the run finished once.
    const completed = await eventsOf(run.id, 'platform.completed');
    expect(completed.map((event) => event.platform).sort()).toEqual([...run.platforms].sort());
    expect((await eventsOf(run.id, 'run.finished')).length).toBe(1);
    // The steps scraped again wrote their odds under this run (upserted on their natural key: never twice).
    const [rescraped] = await db.query<{ n: number }>(`select count(*)::int as n from odds where run_id = $1 and platform = any($2::text[])`, [run.id, holding.steps]);
    expect(rescraped!.n).toBeGreaterThan(0);
    const retried = (await MetricsSnapshot.scrape(`${replicas[0]!.url}/metrics`)).value('oddswatch_steps_retried_total') + (await MetricsSnapshot.scrape(`${replicas[1]!.url}/metrics`)).value('oddswatch_steps_retried_total');
    expect(retried).toBe(secondAttempts.length);
    console.info(`[steps] kill -9 of ${holding.victim.name} holding ${holding.steps.length} step(s): attempt 2 started ${handedOverMs} ms later on a survivor; run ${ended.status}`);
  }, 90_000);

  it('cancel through a replica that runs none of the run\'s steps: cancelled at once, the replica scraping them stops them from its run.finished', async () => {
    const [first, second] = replicas as [Replica, Replica]; // the two survivors of the kill above
    const run = await startRunOn(first, { platforms: ['redfox'] });
    const holder = await waitFor(
      async () => {
        const step = (await runOf(first, run.id)).steps[0]!;
        return step.status === 'running' ? replicas.find((replica) => replica.ownerId === step.replica) : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 20, what: 'redfox running' },
    );
    const through = holder === first ? second : holder === second ? first : second;
    // When the holder is the owner, the other replica runs none of it; otherwise the owner scrapes none of it either.
    expect((await runOf(through, run.id)).steps.some((step) => step.replica === through.ownerId)).toBe(false);
    const cancelledAt = Date.now();
    const response = await through.api(`/api/runs/${run.id}/cancel`, { method: 'POST' });
    expect(response.status).toBe(200);
    expect(((await response.json()) as RunDetail).status).toBe('cancelled');
    // The holder stops the step itself, or (when it also owns the run) through its runner.
    const stopsIt = ['run ended: stopping its steps scraping here', 'run was ended elsewhere; stopping its runner'];
    const stopping = await waitFor(() => holder!.logs.find((line) => line.run_id === run.id && stopsIt.includes(String(line.msg))), { timeoutMs: 10_000, what: 'the holder stopping redfox' });
    const stoppedMs = (typeof stopping.time === 'number' ? stopping.time : Date.parse(String(stopping.time))) - cancelledAt;
    expect(stopping.learned_from).toBe('run.finished');
    expect(stoppedMs).toBeLessThan(2_500);
    await waitFor(() => holder!.logs.find((line) => line.run_id === run.id && line.msg === 'platform scrape stopped: its run had already ended' && line.outcome === 'aborted'), { timeoutMs: 5_000, what: 'redfox aborted on its replica' });
    expect((await MetricsSnapshot.scrape(`${through.url}/metrics`)).value('oddswatch_runs_total', { trigger: 'api', status: 'cancelled' })).toBe(1);
    console.info(`[steps] cancel through ${through.name}: ${holder!.name} stopped redfox ${stoppedMs} ms later`);
  }, 60_000);
});
