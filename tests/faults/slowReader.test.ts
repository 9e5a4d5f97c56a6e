import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TERMINAL_RUN_STATUSES, type RunDetail } from '../../src/shared/contract.js';
import { spawnService, type ChildService } from '../helpers/childService.js';
import { MetricsSnapshot } from '../helpers/metrics.js';
import { createTestDatabase, type TestDatabase } from '../helpers/testDatabase.js';
import { waitFor } from '../helpers/waitFor.js';
import { recordFault } from './report.js';

/**
 * Clients that never read (raw sockets with a tiny receive window) on the global stream while a run
 * goes on: each is cut as `slow` once its socket refuses writes for SSE_WRITE_TIMEOUT_MS, and the run
 * takes as long as the same run with no slow reader. On loopback the kernel absorbs ~4 MB per socket
 * (tcp_wmem autotuning) before a write is refused, far more than a run's progress events (~240 bytes
 * each): the event log is seeded with ~6 MB of large progress events that the readers ask to replay.
 */
const SSE_WRITE_TIMEOUT_MS = 1_000;
const SLOW_READERS = 4;
const RUN_BODY = JSON.stringify({ platforms: ['northwind', 'redfox'] });
let db: TestDatabase;
let service: ChildService;
const readers: ChildProcess[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  service = await spawnService({
    DATABASE_URL: db.url,
    SSE_WRITE_TIMEOUT_MS: String(SSE_WRITE_TIMEOUT_MS),
    SSE_MAX_STREAMS_PER_CLIENT: '100',
    SIM_FEEDS: JSON.stringify({ '*': { latencyMs: 20, pages: 100, eventsPerPage: 5 } }),
  });
});
afterAll(async () => {
  for (const reader of readers) reader.kill('SIGKILL');
  await service?.stop('SIGTERM');
  await db?.drop();
});

/**
 * A client that sends its request and never reads a byte, with a tiny receive window (SO_RCVBUF set
 * before connecting, which node cannot do): python3 on a raw socket, alive until we kill it.
 */
const NEVER_READS = `
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect(("127.0.0.1", int(sys.argv[1])))
s.sendall(("GET %s HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\nAccept: text/event-stream\\r\\n\\r\\n" % sys.argv[2]).encode())
print("sent", flush=True)
sys.stdin.read()
`;
async function neverReading(path: string): Promise<ChildProcess> {
  const child = spawn('python3', ['-c', NEVER_READS, new URL(service.url).port, path], { stdio: ['pipe', 'pipe', 'inherit'] });
  readers.push(child);
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  await waitFor(() => out.includes('sent'), { what: 'the slow reader to send its request' });
  return child;
}

const slowCuts = async () => (await MetricsSnapshot.scrape(`${service.url}/metrics`)).value('oddswatch_sse_disconnects_total', { reason: 'slow' });

async function startRun(): Promise<number> {
  const created = await fetch(`${service.url}/api/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: RUN_BODY });
  expect(created.status).toBe(202);
  return ((await created.json()) as RunDetail).id;
}

/** Waits for the run's end; its duration as the service recorded it (started to finished). */
async function finished(id: number): Promise<{ run: RunDetail; durationMs: number }> {
  const run = await waitFor(async () => {
    const detail = (await (await fetch(`${service.url}/api/runs/${id}`)).json()) as RunDetail;
    return (TERMINAL_RUN_STATUSES as readonly string[]).includes(detail.status) ? detail : undefined;
  }, { timeoutMs: 90_000, intervalMs: 200, what: `run ${id} to end` });
  return { run, durationMs: Date.parse(run.finishedAt!) - Date.parse(run.startedAt!) };
}

describe('slow readers', () => {
  it('a client that never reads is cut as slow within SSE_WRITE_TIMEOUT_MS; runs keep their normal duration', async () => {
    const baseline = await finished(await startRun());
    expect(baseline.run.status).toBe('completed');

    const [{ cursor } = { cursor: '0' }] = await db.query<{ cursor: string }>('select max(id) as cursor from run_events');
    await db.query(
      `insert into run_events (run_id, seq, type, payload)
       select $1::bigint, 100000 + g, 'platform.progress', jsonb_build_object('runId', $1::bigint, 'platform', 'northwind', 'elapsedMs', 0,
         'eventsFound', 0, 'platformsDone', 0, 'platformsTotal', 2, 'padding', repeat('x', 20000))
       from generate_series(1, 300) g`,
      [baseline.run.id],
    );
    const before = await slowCuts();
    const id = await startRun();
    const connected = performance.now();
    for (let index = 0; index < SLOW_READERS; index += 1) await neverReading(`/api/events?lastEventId=${cursor}`);
    const cutMs = await waitFor(async () => ((await slowCuts()) >= before + SLOW_READERS ? Math.round(performance.now() - connected) : undefined), {
      timeoutMs: 60_000,
      intervalMs: 100,
      what: `${SLOW_READERS} slow cuts`,
    });
    const withSlow = await finished(id);
    expect(withSlow.run.status).toBe('completed');
    const ratio = Math.round((withSlow.durationMs / baseline.durationMs) * 100) / 100;
    const cutLogs = service.logs.filter((line) => String(line.msg).startsWith('SSE subscriber too slow')).length;
    recordFault({
      name: 'slow readers',
      endState: `${SLOW_READERS} clients that never read were cut as slow (${cutLogs} warn lines); the run alongside completed`,
      figure: { sse_write_timeout_ms: SSE_WRITE_TIMEOUT_MS, all_cut_after_ms: cutMs, run_ms_alone: baseline.durationMs, run_ms_with_slow_readers: withSlow.durationMs, run_duration_ratio: ratio },
    });
    // From the request: the replay query and ~4 MB into the socket, then the write deadline.
    expect(cutMs).toBeLessThan(SSE_WRITE_TIMEOUT_MS + 4_000);
    expect(ratio).toBeLessThanOrEqual(1.5);
  });
});
