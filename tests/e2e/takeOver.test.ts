import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReplica, startRunOn, waitForRunStatus, type Replica } from '../helpers/replicaCluster.js';
import { createTestDatabase, type TestDatabase } from '../helpers/testDatabase.js';
import { ensureBuilt, launchBrowser, openTab, screenshot, waitFor } from './support.js';

/**
 * A run whose replica is killed mid-run, as operators see it: two built replicas on one database, the run
 * started on A, A killed with SIGKILL while its steps are in flight; B takes the run over and completes it,
 * and B's run page marks every step it scraped again with its attempt.
 */
let db: TestDatabase;
let a: Replica;
let b: Replica;
let browser: Browser;

beforeAll(async () => {
  ensureBuilt();
  db = await createTestDatabase();
  a = await startReplica('A', db.url);
  b = await startReplica('B', db.url);
  browser = await launchBrowser();
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await Promise.all([a, b].filter(Boolean).map((replica) => replica.stop('SIGKILL')));
  await db?.drop();
});

describe('dashboard: a run taken over after its replica died', () => {
  it("the survivor's run page shows the run completed and marks each step scraped again with its attempt, at 1280 and 390 px", async () => {
    const run = await startRunOn(a);
    await waitFor(async () => {
      const [row] = await db.query<{ n: number }>(`select count(*)::int as n from run_events where run_id = $1 and type = 'platform.progress'`, [run.id]);
      return row!.n > 0 || undefined;
    }, { what: 'a platform mid-scrape on A' });
    await a.stop('SIGKILL');
    const ended = await waitForRunStatus(b, run.id, ['completed', 'partial', 'failed'], 30_000);
    expect(ended.status).toBe('completed');
    const again = ended.steps.filter((step) => step.attempt === 2).map((step) => step.platform);
    expect(again.length).toBeGreaterThan(0);

    for (const viewport of [{ width: 1280, height: 900 }, { width: 390, height: 844 }]) {
      const tab = await openTab(browser, b.url, `/runs/${run.id}`, viewport);
      try {
        await tab.page.locator('[data-testid="run-timeline"]').waitFor({ timeout: 10_000 });
        const marked = await tab.page.locator('[data-testid="timeline-row"]:has([data-testid="timeline-attempt"])').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-platform')));
        expect(marked.sort()).toEqual([...again].sort());
        expect(await tab.page.locator('[data-testid="timeline-attempt"]').first().textContent()).toBe('attempt 2');
        const label = await tab.page.locator(`[data-testid="timeline-row"][data-platform="${again[0]}"] [data-testid="timeline-bar"]`).getAttribute('aria-label');
        expect(label).toContain('attempt 2: scraped again after the replica scraping it stopped');
        // The page is as wide as the screen: the badge does not push the row out.
        expect(await tab.page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(viewport.width);
        await screenshot(tab.page, `run-taken-over-${viewport.width}`);
        expect(tab.pageErrors).toEqual([]);
      } finally {
        await tab.close();
      }
    }
  }, 90_000);
});
