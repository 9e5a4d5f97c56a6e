import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PlatformAdapter, ScrapedSelection } from '../../src/platforms/adapter.js';
import { ODDS_FLUSH_ROWS } from '../../src/runs/oddsBuffer.js';
import type { RunDetail } from '../../src/shared/contract.js';
import { startTestServer, type TestServer } from '../helpers/testServer.js';

/**
 * The runner's containment of a value the database refuses. The feed kinds validate what they read
 * (tests/faults/hostileFeeds.test.ts), so these adapters skip that edge on purpose: whatever slips
 * through must fail its own platform with the SQLSTATE, and the run go on, never end as a lost database.
 */
const row = (eventKey: string, overrides: Partial<ScrapedSelection> = {}): ScrapedSelection => ({
  eventKey,
  eventName: `Home ${eventKey} v Away`,
  market: 'match result',
  selection: 'home',
  price: 2.5,
  priceText: '2.5',
  bookmaker: 'raw',
  ...overrides,
});

/** An adapter that hands the runner its pages as they are, with no validation. */
function rawAdapter(name: string, pages: ScrapedSelection[][], fail?: Error): PlatformAdapter {
  return {
    name,
    kind: 'feed',
    baseUrl: 'http://raw.invalid',
    timeoutMs: 10_000,
    async scrape(_signal, onProgress) {
      let eventsFound = 0;
      for (const batch of pages) {
        eventsFound += new Set(batch.map((selection) => selection.eventKey)).size;
        await onProgress({ eventsFound, batch });
      }
      if (fail) throw fail;
      return eventsFound;
    },
  };
}

const manyRows = (prefix: string) => Array.from({ length: ODDS_FLUSH_ROWS }, (_, index) => row(`${prefix}-${index}`));
const CASES: Record<string, { pages: ScrapedSelection[][]; fail?: Error; expected: RegExp }> = {
  // 22021: PostgreSQL text cannot hold NUL.
  'nul-name': { pages: [[row('a'), row('b', { eventName: 'Home\u0000Away' })]], expected: /SQLSTATE 22021/ },
  // 23514: passes price > 1 in JavaScript, rounds to 1.0000 in numeric(12,4), fails odds_price_above_one.
  'rounds-to-one': { pages: [[row('a', { price: 1.0000000000001 })]], expected: /SQLSTATE 23514/ },
  // 22003: numeric(12,4) holds less than 10^8.
  overflow: { pages: [[row('a', { price: 1e12 })]], expected: /SQLSTATE 22003/ },
  // 54000: a key too long for the primary-key index (random, so compression cannot shrink it).
  'long-key': { pages: [[row(randomBytes(6_000).toString('base64'))]], expected: /SQLSTATE 54000/ },
  // The mid-scrape write of a full buffer (not the step's final one).
  'flush-nul': { pages: [[...manyRows('f'), row('zz', { selection: 'dra\u0000w' })], [row('late')]], expected: /SQLSTATE 22021/ },
  // An error whose text holds NUL: the step's error goes into JSON (22P05 for \u0000 in jsonb) and text.
  'nul-error': { pages: [[row('a')]], fail: new Error('bad\u0000value'), expected: /^badvalue$/ },
};

const dir = mkdtempSync(path.join(tmpdir(), 'oddswatch-refused-'));
let server: TestServer;

beforeAll(async () => {
  const names = ['healthy', ...Object.keys(CASES)];
  writeFileSync(path.join(dir, 'platforms.json'), JSON.stringify(names.map((name) => ({ name, baseUrl: 'http://127.0.0.1:9/unused' }))));
  server = await startTestServer({ PLATFORMS_FILE: path.join(dir, 'platforms.json') });
  const adapters = server.platforms.adapters as Map<string, PlatformAdapter>;
  adapters.set('healthy', rawAdapter('healthy', [[row('h1'), row('h2')]]));
  for (const [name, { pages, fail }] of Object.entries(CASES)) adapters.set(name, rawAdapter(name, pages, fail));
});
afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('a value the database refuses', () => {
  it('fails its own platform with the SQLSTATE and the reason refused_value; the run ends partial, not as a lost database', async () => {
    const started = Date.now();
    const created = (await (await server.api('/api/runs', { method: 'POST', json: {} })).json()) as RunDetail;
    const run = await server.waitForRun(created.id, ['completed', 'partial', 'failed'], 20_000);
    expect(run.status).toBe('partial');
    expect(run.failureReason).toBeNull();
    expect(Date.now() - started).toBeLessThan(10_000); // no wait for a database that never left
    const steps = Object.fromEntries(run.steps.map((step) => [step.platform, step]));
    expect(steps.healthy).toMatchObject({ status: 'completed', eventsFound: 2 });
    for (const [name, { expected }] of Object.entries(CASES)) {
      expect(steps[name]!.status, name).toBe('failed');
      expect(steps[name]!.error, name).toMatch(expected);
      // Refused at the final write, or mid-scrape (flush-nul); nul-error is an adapter's own unclassified error (unexpected).
      expect(steps[name]!.reason, name).toBe(expected.source.includes('SQLSTATE') ? 'refused_value' : 'unexpected');
    }
    expect(steps.healthy!.reason).toBeNull();
    expect(server.logs.some((line) => /lost the database/.test(line.msg))).toBe(false);

    const [healthy] = await server.db.query<{ count: string }>("select count(*) from odds where platform = 'healthy' and run_id = $1", [run.id]);
    expect(Number(healthy!.count)).toBe(2);
    // The refused write stored nothing of its batch; the flush case's rows were in the refused statement.
    const [flushed] = await server.db.query<{ count: string }>("select count(*) from odds where platform = 'flush-nul'");
    expect(Number(flushed!.count)).toBe(0);
  });
});
