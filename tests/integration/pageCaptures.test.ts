import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { crc32, inflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { boundedCapture, insertStepCapture } from '../../src/db/tables/stepCaptures.js';
import { CAPTURE_WRITE_DEADLINE_MS } from '../../src/runs/keepPageCapture.js';
import { PAGE_CAPTURE_LIMITS, type RunDetail, type StepCapture } from '../../src/shared/contract.js';
import { connectSse } from '../helpers/sseClient.js';
import type { TestServer } from '../helpers/testServer.js';

/**
 * The page at failure of a browser step, through the real service, real Chromium and real PostgreSQL: tiny
 * loopback pages whose selector never appears (`layout`), one of them echoing the entry's credentials into
 * its DOM, one too big to keep whole; a feed that fails beside them. What is stored, what the API serves,
 * what retention and the per-platform cap delete, and that storing it never changes or holds up the step.
 */

const SECRETS = {
  user: 'capuser',
  password: 'pw-capture-5ecret',
  apiKey: 'ak-capture-9q7x',
  header: 'hdr-capture-31ab',
};
const BASIC = Buffer.from(`${SECRETS.user}:${SECRETS.password}`).toString('base64');
const FORBIDDEN = [SECRETS.password, SECRETS.apiKey, SECRETS.header, BASIC];
const DOM = { waitFor: '.event-card', rows: { event: '.event-card', id: '.id', name: '.name', markets: [{ name: 'match_result', selections: [{ name: 'home', price: '.home' }] }] } };
const CAPTURED = ['cap-echo', 'cap-big'];
/** How long the faulted capture write stalls: far past its deadline, within the test's time. */
const STALL_S = 15;

/** The redesigned page: no `.event-card`; it shows what it was sent (headers and its own URL) in its DOM. */
function echoPage(request: http.IncomingMessage): string {
  const authorization = request.headers.authorization ?? '';
  const password = Buffer.from(authorization.replace(/^Basic /, ''), 'base64').toString().split(':')[1] ?? '';
  return `<!doctype html><html><head><title>Bets</title></head><body><main><div class="card-v2">Arsenal v Celtic 2.40</div>
<p>key <span id="key">${request.headers['x-api-key'] ?? ''}</span></p><p>auth <span id="auth">${authorization}</span> <span id="pw">${password}</span></p>
<p>at <span id="href"></span></p></main><script>document.getElementById('href').textContent = location.href;</script></body></html>`;
}

/** A page past both bounds: a viewport of noise (a PNG of megabytes) and a DOM of 300,000 two-byte characters. */
const BIG_PAGE = `<!doctype html><html><body style="margin:0"><canvas id="noise" width="1280" height="900"></canvas><div hidden>${'é'.repeat(300_000)}</div>
<script>const c = document.getElementById('noise').getContext('2d'); const image = c.createImageData(1280, 900);
for (let i = 0; i < image.data.length; i++) image.data[i] = i % 4 === 3 ? 255 : Math.floor(Math.random() * 256);
c.putImageData(image, 0, 0);</script></body></html>`;

const dir = mkdtempSync(path.join(tmpdir(), 'oddswatch-captures-'));
let site: http.Server;
let origin: string;
let server: TestServer;
let run: RunDetail;

async function runToEnd(platforms: string[]): Promise<RunDetail> {
  const response = await server.api('/api/runs', { method: 'POST', json: { platforms } });
  expect(response.status).toBe(202);
  return server.waitForRun(((await response.json()) as RunDetail).id, ['completed', 'partial', 'failed'], 60_000);
}

const capturePath = (runId: number, platform: string) => `/api/runs/${runId}/steps/${platform}/capture`;

interface StoredRow {
  url: string;
  html: string;
  html_truncated: boolean;
  screenshot: Buffer | null;
  screenshot_dropped: boolean;
  html_bytes: number;
  screenshot_bytes: number | null;
}
const storedRow = async (runId: number, platform: string) =>
  (
    await server.db.query<StoredRow>(
      `select url, html, html_truncated, screenshot, screenshot_dropped, octet_length(html) as html_bytes, octet_length(screenshot) as screenshot_bytes
       from step_captures where run_id = $1 and platform = $2`,
      [runId, platform],
    )
  )[0];

/** A PNG whose chunks all check out (CRC) and whose image data inflates to exactly its rows. */
function readPng(png: Buffer): { width: number; height: number } {
  expect(png.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe(true);
  let offset = 8;
  const chunks: { type: string; data: Buffer }[] = [];
  while (offset < png.length) {
    const length = png.readUInt32BE(offset);
    const type = png.subarray(offset + 4, offset + 8);
    const data = png.subarray(offset + 8, offset + 8 + length);
    expect(png.readUInt32BE(offset + 8 + length)).toBe(crc32(Buffer.concat([type, data])));
    chunks.push({ type: type.toString('latin1'), data });
    offset += 12 + length;
  }
  expect(offset).toBe(png.length);
  expect(chunks[0]!.type).toBe('IHDR');
  expect(chunks.at(-1)!.type).toBe('IEND');
  const header = chunks[0]!.data;
  const [width, height, depth, color] = [header.readUInt32BE(0), header.readUInt32BE(4), header[8]!, header[9]!];
  expect(depth).toBe(8);
  const channels = { 2: 3, 6: 4 }[color as 2 | 6];
  const pixels = inflateSync(Buffer.concat(chunks.filter((chunk) => chunk.type === 'IDAT').map((chunk) => chunk.data)));
  expect(pixels.length).toBe(height * (1 + width * channels!));
  return { width, height };
}

beforeAll(async () => {
  site = http.createServer((request, response) => {
    const pathname = new URL(request.url ?? '/', 'http://x').pathname;
    // Chromium sends the entry's Basic credentials once challenged.
    if (pathname === '/echo' && request.url?.includes('apikey=') && !request.headers.authorization) {
      return void response.writeHead(401, { 'www-authenticate': 'Basic realm="bets"' }).end();
    }
    if (pathname === '/echo') return void response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(echoPage(request));
    if (pathname === '/big') return void response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(BIG_PAGE);
    response.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"down"}');
  });
  await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
  const port = (site.address() as AddressInfo).port;
  origin = `http://127.0.0.1:${port}`;
  const browser = (name: string, url: string, extra: Record<string, unknown> = {}) => ({ name, kind: 'browser', url, waitTimeoutMs: 1_000, timeoutMs: 20_000, dom: DOM, ...extra });
  const echo = `http://${SECRETS.user}:${SECRETS.password}@127.0.0.1:${port}/echo?apikey=${SECRETS.apiKey}&league=epl`;
  const file = path.join(dir, 'platforms.json');
  writeFileSync(
    file,
    JSON.stringify([
      browser('cap-echo', echo, { headers: { 'X-Api-Key': { env: 'ODDSWATCH_TEST_CAPTURE_KEY' } } }),
      browser('cap-big', `${origin}/big`),
      browser('cap-slow', `${origin}/echo`),
      { name: 'cap-feed', baseUrl: `${origin}/feed`, timeoutMs: 5_000 },
    ]),
  );
  process.env.ODDSWATCH_TEST_CAPTURE_KEY = SECRETS.header;
  const { startTestServer } = await import('../helpers/testServer.js');
  // A statement timeout far past the capture's write deadline: only that deadline can end a stuck write in time.
  server = await startTestServer({ PLATFORMS_FILE: file, EVENT_RETENTION_DAYS: '7', DATABASE_STATEMENT_TIMEOUT_MS: '60000' });
  run = await runToEnd(['cap-echo', 'cap-big', 'cap-feed']);
}, 120_000);
afterAll(async () => {
  await server?.close();
  site?.closeAllConnections();
  await new Promise((resolve) => site?.close(resolve));
  delete process.env.ODDSWATCH_TEST_CAPTURE_KEY;
  rmSync(dir, { recursive: true, force: true });
});

describe('a failed browser step keeps its page at failure', () => {
  it('is stored for each failed browser step and said on its step and its platform.failed event; a failed feed stores none', async () => {
    expect(run.status).toBe('failed');
    const steps = Object.fromEntries(run.steps.map((step) => [step.platform, [step.reason, step.captured]]));
    expect(steps).toEqual({ 'cap-echo': ['layout', true], 'cap-big': ['layout', true], 'cap-feed': ['http_5xx', false] });
    expect(await storedRow(run.id, 'cap-feed')).toBeUndefined();
    expect((await server.db.query<{ platform: string }>('select platform from step_captures where run_id = $1 order by platform', [run.id])).map((row) => row.platform)).toEqual(['cap-big', 'cap-echo']);

    const stream = await connectSse(`${server.url}/api/runs/${run.id}/events`);
    try {
      await stream.waitForEvent((event) => event.data.type === 'run.finished');
      const failed = stream.events.flatMap((event) => (event.data.type === 'platform.failed' ? [[event.data.data.platform, event.data.data.captured]] : []));
      expect(Object.fromEntries(failed)).toEqual({ 'cap-echo': true, 'cap-big': true, 'cap-feed': false });
    } finally {
      stream.close();
    }
  });

  it('GET …/capture answers it as JSON: the redacted URL, the rendered HTML as a string, the screenshot by URL', async () => {
    const response = await server.api(capturePath(run.id, 'cap-echo'));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    const capture = (await response.json()) as StepCapture;
    expect(capture).toMatchObject({
      runId: run.id,
      platform: 'cap-echo',
      htmlTruncated: false,
      screenshotDropped: false,
      screenshotUrl: `${capturePath(run.id, 'cap-echo')}/screenshot`,
    });
    expect(capture.url).toBe(`${origin}/echo?apikey=***&league=epl`);
    expect(capture.html).toContain('<div class="card-v2">Arsenal v Celtic 2.40</div>');
    expect(capture.html).toContain('<script>'); // the page's scripts, as text
    expect(Date.parse(capture.capturedAt)).toBeGreaterThanOrEqual(Date.parse(run.startedAt!));
    expect(Date.parse(capture.capturedAt)).toBeLessThanOrEqual(Date.parse(run.finishedAt!));
  });

  it('GET …/capture/screenshot answers a valid PNG of the 1280 × 900 viewport, cacheable', async () => {
    const response = await server.api(`${capturePath(run.id, 'cap-echo')}/screenshot`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('image/png');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('cache-control')).toBe('private, max-age=86400, immutable');
    const png = Buffer.from(await response.arrayBuffer());
    expect(readPng(png)).toEqual({ width: 1280, height: 900 });
    expect(png.equals((await storedRow(run.id, 'cap-echo'))!.screenshot!)).toBe(true);
    const row = await storedRow(run.id, 'cap-echo');
    console.log(`capture of the echo page: html ${row!.html_bytes} bytes, screenshot ${row!.screenshot_bytes} bytes`);
  });

  it('holds no credential of the entry: its header, query key, Basic password and Authorization value are masked where the page showed them', async () => {
    const row = (await storedRow(run.id, 'cap-echo'))!;
    // The page did show each of them: masked in place, not missing.
    expect(row.html).toMatch(/<span id="key">\*\*\*<\/span>/);
    expect(row.html).toMatch(/<span id="auth">Basic \*\*\*<\/span> <span id="pw">\*\*\*<\/span>/);
    expect(row.html).toMatch(/<span id="href">[^<]*apikey=\*\*\*[^<]*<\/span>/);
    const served = await (await server.api(capturePath(run.id, 'cap-echo'))).text();
    for (const secret of FORBIDDEN) {
      expect(row.url, secret).not.toContain(secret);
      expect(row.html, secret).not.toContain(secret);
      expect(served, secret).not.toContain(secret);
    }
  });

  it('is bounded: an HTML past 256 KiB is cut on a character and says so, a screenshot past 512 KiB is dropped and says so', async () => {
    const row = (await storedRow(run.id, 'cap-big'))!;
    console.log(`capture of the big page: html ${row.html_bytes} bytes (cut), screenshot ${row.screenshot_bytes ?? 'dropped'}`);
    expect(row.html_bytes).toBeLessThanOrEqual(PAGE_CAPTURE_LIMITS.htmlBytes);
    expect(row.html_bytes).toBeGreaterThan(PAGE_CAPTURE_LIMITS.htmlBytes - 4);
    expect(row.html.endsWith('é')).toBe(true);
    expect(row).toMatchObject({ html_truncated: true, screenshot: null, screenshot_dropped: true });
    const capture = (await (await server.api(capturePath(run.id, 'cap-big'))).json()) as StepCapture;
    expect(capture).toMatchObject({ htmlTruncated: true, screenshotUrl: null, screenshotDropped: true });
    const screenshot = await server.api(`${capturePath(run.id, 'cap-big')}/screenshot`);
    expect(screenshot.status).toBe(404);
    expect(await screenshot.json()).toMatchObject({ error: { code: 'not_found' } });
  });

  it('is bounded at the store whatever it is handed: sizes, a PNG that is none, NUL, a URL with credentials; the table refuses more', async () => {
    const png = (size: number) => Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(size - 8)]);
    const html = `a${'€'.repeat(100_000)}\0`; // 300,002 bytes: the cut falls inside a three-byte character
    const bounded = boundedCapture({ url: 'http://u:p4ssw0rd@h.example/x?token=t0k3n-value&a=1', screenshot: png(PAGE_CAPTURE_LIMITS.screenshotBytes + 1), html, htmlTruncated: false });
    expect(bounded.url).toBe('http://***@h.example/x?token=***&a=1');
    expect(Buffer.byteLength(bounded.html)).toBe(1 + 3 * Math.floor((PAGE_CAPTURE_LIMITS.htmlBytes - 1) / 3));
    expect(bounded).toMatchObject({ htmlTruncated: true, screenshot: null, screenshotDropped: true });
    expect(boundedCapture({ url: 'x', screenshot: png(PAGE_CAPTURE_LIMITS.screenshotBytes), html: 'a\0b', htmlTruncated: false })).toMatchObject({
      html: 'a\ufffdb',
      htmlTruncated: false,
      screenshotDropped: false,
    });
    expect(boundedCapture({ url: 'x', screenshot: Buffer.from('<svg onload=alert(1)>'), html: '', htmlTruncated: false })).toMatchObject({ screenshot: null, screenshotDropped: true });
    expect(boundedCapture({ url: 'x', screenshot: null, html: '', htmlTruncated: true })).toMatchObject({ screenshot: null, screenshotDropped: false, htmlTruncated: true });

    await expect(
      server.db.query(`insert into step_captures (run_id, platform, url, html, html_truncated, screenshot_dropped) values ($1, 'direct', '', repeat('x', $2), false, false)`, [run.id, PAGE_CAPTURE_LIMITS.htmlBytes + 1]),
    ).rejects.toThrow(/step_captures_html_bounded/);
    await expect(
      server.db.query(`insert into step_captures (run_id, platform, url, html, screenshot, html_truncated, screenshot_dropped) values ($1, 'direct', '', '', $2, false, false)`, [run.id, png(PAGE_CAPTURE_LIMITS.screenshotBytes + 1)]),
    ).rejects.toThrow(/step_captures_screenshot_bounded/);
  });

  it('keeps the latest 20 of a platform: storing one deletes the older ones, other platforms untouched', async () => {
    const runs = await server.db.query<{ id: string }>(
      `insert into runs (status, trigger, platforms, finished_at) select 'failed', 'api', '{cap-many}', now() from generate_series(1, 24) returning id`,
    );
    const ids = runs.map((row) => Number(row.id)).sort((a, b) => a - b);
    const capture = boundedCapture({ url: `${origin}/echo`, screenshot: null, html: '<p>x</p>', htmlTruncated: false });
    for (const id of ids.slice(0, 3)) expect(await insertStepCapture(server.orm, id, 'cap-other', capture)).toBe(true);
    const kept = async (platform: string) =>
      (await server.db.query<{ run_id: string }>('select run_id from step_captures where platform = $1 order by run_id', [platform])).map((row) => Number(row.run_id));
    for (const [index, id] of ids.entries()) {
      expect(await insertStepCapture(server.orm, id, 'cap-many', capture)).toBe(true);
      expect((await kept('cap-many')).length).toBe(Math.min(index + 1, PAGE_CAPTURE_LIMITS.perPlatform));
    }
    expect(await kept('cap-many')).toEqual(ids.slice(-PAGE_CAPTURE_LIMITS.perPlatform));
    expect(await kept('cap-other')).toEqual(ids.slice(0, 3));
    // A step keeps its first capture: a second one is refused, and deletes nothing.
    expect(await insertStepCapture(server.orm, ids.at(-1)!, 'cap-many', capture)).toBe(false);
    expect(await kept('cap-many')).toEqual(ids.slice(-PAGE_CAPTURE_LIMITS.perPlatform));
  });

  it('answers 404 with the error body when there is none, and 400 for a malformed run id or platform name', async () => {
    for (const missing of [capturePath(run.id, 'cap-feed'), capturePath(run.id, 'nope'), capturePath(99_999_999, 'cap-echo'), `${capturePath(run.id, 'cap-feed')}/screenshot`]) {
      const response = await server.api(missing);
      expect(response.status, missing).toBe(404);
      expect(await response.json(), missing).toMatchObject({ error: { code: 'not_found', message: expect.any(String) } });
    }
    for (const bad of [capturePath(0, 'cap-echo'), '/api/runs/abc/steps/cap-echo/capture', capturePath(run.id, 'Cap%20Echo'), `${capturePath(run.id, 'x'.repeat(41))}/screenshot`]) {
      const response = await server.api(bad);
      expect(response.status, bad).toBe(400);
      expect(await response.json(), bad).toMatchObject({ error: { code: 'invalid_request' } });
    }
  });

  it('a write that fails or hangs is logged and leaves the step as it was: the same reason, no capture, the run ends in time', async () => {
    // Refused for one platform; for the other the write stalls far past its deadline (the statement timeout is 60 s here).
    await server.db.query(`create function capture_fault() returns trigger language plpgsql as $$
      begin
        if new.platform = 'cap-slow' then perform pg_sleep(${STALL_S}); return new; end if;
        raise exception 'capture store down';
      end $$`);
    await server.db.query('create trigger capture_fault before insert on step_captures for each row execute function capture_fault()');
    try {
      const faulted = await runToEnd(['cap-echo', 'cap-slow']);
      expect(faulted.status).toBe('failed');
      expect(faulted.steps.map((step) => [step.platform, step.status, step.reason, step.captured])).toEqual([
        ['cap-echo', 'failed', 'layout', false],
        ['cap-slow', 'failed', 'layout', false],
      ]);
      // What the write held the step up: from its failure (durationMs) to its end.
      const heldMs = (step: RunDetail['steps'][number]) => Date.parse(step.finishedAt!) - Date.parse(step.startedAt!) - step.durationMs!;
      const slow = faulted.steps[1]!;
      expect(heldMs(slow)).toBeGreaterThanOrEqual(CAPTURE_WRITE_DEADLINE_MS - 100);
      expect(heldMs(slow)).toBeLessThan(STALL_S * 1000 / 2);
      console.log(`a capture write that stalls held its step up ${heldMs(slow)} ms (deadline ${CAPTURE_WRITE_DEADLINE_MS} ms, stall ${STALL_S} s)`);
      const warned = server.logs.filter((line) => line.msg === 'could not store the page at failure; the step ends without it' && line.run_id === faulted.id);
      expect(warned.map((line) => line.platform).sort()).toEqual(['cap-echo', 'cap-slow']);
      expect(await server.db.query('select 1 from step_captures where run_id = $1', [faulted.id])).toEqual([]);
    } finally {
      // The stalled insert still sleeps in its backend (ours, in this test's database): end it, then the trigger can go.
      await server.db.query(`select pg_cancel_backend(pid) from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid() and query like 'with inserted as%'`);
      await server.db.query('drop trigger capture_fault on step_captures');
      await server.db.query('drop function capture_fault()');
    }
  });

  it('retention deletes them with the events of runs finished before the retention period, and keeps recent ones', async () => {
    const recent = await runToEnd(['cap-echo']);
    expect(recent.steps[0]).toMatchObject({ reason: 'layout', captured: true });
    await server.db.query(`update runs set created_at = created_at - interval '8 days', started_at = started_at - interval '8 days', finished_at = finished_at - interval '8 days' where id = $1`, [run.id]);
    const response = await server.api('/api/scheduler/jobs/prune_run_events/run', { method: 'POST' });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ capturesDeleted: 2, eventsDeleted: expect.any(Number) });
    expect(await server.db.query('select 1 from step_captures where run_id = $1', [run.id])).toEqual([]);
    expect(await server.db.query('select 1 from run_events where run_id = $1', [run.id])).toEqual([]);
    expect((await server.api(capturePath(run.id, 'cap-echo'))).status).toBe(404);
    const old = (await (await server.api(`/api/runs/${run.id}`)).json()) as RunDetail;
    expect(old.steps.filter((step) => CAPTURED.includes(step.platform)).map((step) => step.captured)).toEqual([false, false]);
    expect((await server.api(capturePath(recent.id, 'cap-echo'))).status).toBe(200);
  });
});
