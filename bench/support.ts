import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { SimulatedFeeds, type FeedKnobs } from '../src/platforms/simulatedFeeds.js';

/** A fresh database on BENCH_DATABASE_URL (default: the local PostgreSQL), dropped afterwards. */
export async function benchDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const server = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const name = `oddswatch_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: server });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(server);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const cleanup = new pg.Client({ connectionString: server });
      await cleanup.connect();
      await cleanup.query(`drop database if exists ${name} with (force)`);
      await cleanup.end();
    },
  };
}

/** `count` platforms served by the simulated feeds (several names may share a feed), as a PLATFORMS_FILE. */
export async function simulatedPlatforms(count: number, knobs: Partial<FeedKnobs>): Promise<{ file: string; feeds: SimulatedFeeds }> {
  const feeds = new SimulatedFeeds({ '*': knobs });
  await feeds.start();
  // The feed kind only: the engine's figures stay comparable with the runs measured before the other kinds.
  const feedNames = feeds.names.filter((name) => feeds.knobs.get(name)?.kind === 'feed');
  const entries = Array.from({ length: count }, (_, index) => {
    const feed = feedNames[index % feedNames.length]!;
    return { name: `book${String(index + 1).padStart(2, '0')}`, baseUrl: feeds.urlOf(feed), timeoutMs: 60_000 };
  });
  const file = path.join(tmpdir(), `oddswatch-bench-platforms-${process.pid}.json`);
  await writeFile(file, JSON.stringify(entries));
  return { file, feeds };
}

export const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};

let statementsSent = 0;
let counting = false;

/**
 * Counts every statement any pg client of this process sends (the service's pool and its dedicated
 * connections: every round trip, BEGIN/COMMIT included) from the first call on; returns the count so far.
 */
export function statementCount(): () => number {
  if (!counting) {
    counting = true;
    const originalQuery = pg.Client.prototype.query;
    pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
      statementsSent += 1;
      return (originalQuery as (...a: unknown[]) => unknown).apply(this, args);
    } as typeof pg.Client.prototype.query;
  }
  return () => statementsSent;
}
