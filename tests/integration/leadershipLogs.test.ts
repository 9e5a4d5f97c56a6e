import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReplica, type Replica } from '../helpers/replicaCluster.js';
import { createTestDatabase, type TestDatabase } from '../helpers/testDatabase.js';
import { waitFor } from '../helpers/waitFor.js';

/**
 * What the scheduler leadership logs, read from the logs of built services: winning the lock at start is how
 * every single-process start goes (info); leadership changing while running is what an operator must see (warn).
 */
let db: TestDatabase;
const started: Replica[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await Promise.all(started.map((replica) => replica.stop('SIGKILL')));
  await db?.drop();
});

const leaderLines = (replica: Replica) => replica.logs.filter((line) => /scheduler leader/.test(String(line.msg)));
const levelsOf = (replica: Replica, msg: string) => leaderLines(replica).filter((line) => String(line.msg).includes(msg)).map((line) => line.level);

describe('scheduler leadership in the logs', () => {
  it('first acquisition at start is info; a takeover after the leader died is warn; a clean stop is info', async () => {
    const a = await startReplica('A', db.url);
    started.push(a);
    expect(levelsOf(a, 'is now the scheduler leader')).toEqual(['info']);
    expect(leaderLines(a).filter((line) => line.level !== 'info')).toEqual([]);

    const b = await startReplica('B', db.url);
    started.push(b);
    expect(leaderLines(b)).toEqual([]); // a follower at start says nothing

    await a.stop('SIGKILL');
    await waitFor(() => levelsOf(b, 'is now the scheduler leader').length > 0 || undefined, { timeoutMs: 10_000, what: 'B to take over' });
    expect(levelsOf(b, 'is now the scheduler leader')).toEqual(['warn']);

    await b.stop('SIGTERM');
    expect(levelsOf(b, 'no longer the scheduler leader')).toEqual(['info']);
    expect(leaderLines(b).find((line) => String(line.msg).includes('no longer'))).toMatchObject({ reason: 'stopping' });
  }, 90_000);
});
