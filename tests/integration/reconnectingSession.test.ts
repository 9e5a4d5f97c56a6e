import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ReconnectingSession, type ReconnectingSessionOptions } from '../../src/db/reconnectingSession.js';
import { terminateBackends } from '../helpers/replicas.js';
import { createTestDatabase, type TestDatabase } from '../helpers/testDatabase.js';
import { waitFor } from '../helpers/waitFor.js';

let db: TestDatabase;
let sessions: ReconnectingSession[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
});
afterEach(async () => {
  await Promise.all(sessions.map((session) => session.close()));
  sessions = [];
});
afterAll(async () => {
  await db?.drop();
});

/** A session with its own application_name, and a record of what it reported. */
function open(options: Partial<ReconnectingSessionOptions> & { reconnects?: boolean } = {}) {
  const applicationName = `rs-test-${randomBytes(4).toString('hex')}`;
  const events: string[] = [];
  const failures: number[] = [];
  const prepared: boolean[] = [];
  const session = new ReconnectingSession({
    databaseUrl: db.url,
    applicationName,
    label: 'test session',
    onLost: (error) => events.push(`lost: ${error.message}`),
    prepare: async (_client, reconnecting) => void prepared.push(reconnecting),
    ...(options.reconnects === false
      ? {}
      : {
          reconnect: {
            initialMs: 50,
            maxMs: 200,
            onRetryFailed: (_error: Error, attempt: number) => void failures.push(attempt),
            onReconnected: () => void events.push('reconnected'),
          },
        }),
    ...options,
  });
  sessions.push(session);
  return { session, applicationName, events, failures, prepared };
}

async function backendPid(client: pg.Client): Promise<number> {
  const { rows } = await client.query<{ pid: number }>('select pg_backend_pid() as pid');
  return rows[0]!.pid;
}

describe('ReconnectingSession (one dedicated session that knows when it is lost)', () => {
  it('connects under its application_name and runs prepare before it counts as up', async () => {
    const { session, applicationName, prepared } = open();
    expect(session.connected).toBe(false);
    await session.connect();
    expect(session.connected).toBe(true);
    expect(prepared).toEqual([false]);
    const rows = await db.query<{ n: number }>('select count(*)::int as n from pg_stat_activity where application_name = $1', [applicationName]);
    expect(rows[0]!.n).toBe(1);
  });

  it('a terminated backend is lost once, then reconnected with backoff (prepare told it is a reconnect)', async () => {
    const { session, applicationName, events, prepared } = open();
    const first = await session.connect();
    const firstPid = await backendPid(first);
    expect(await terminateBackends(db.url, applicationName)).toBe(1);
    await waitFor(() => events.includes('reconnected'), { what: 'reconnected' });
    expect(events).toHaveLength(2);
    expect(events[0]).toMatch(/^lost: /);
    expect(events[1]).toBe('reconnected');
    expect(prepared).toEqual([false, true]);
    expect(session.client).not.toBe(first);
    expect(await backendPid(session.client!)).not.toBe(firstPid);
  });

  it('keeps retrying while prepare fails, counting the attempts, until it succeeds', async () => {
    let refuse = 0;
    const state = open({
      prepare: async (_client, reconnecting) => {
        if (reconnecting && refuse-- > 0) throw new Error('not yet');
      },
    });
    await state.session.connect();
    refuse = 3;
    await terminateBackends(db.url, state.applicationName);
    await waitFor(() => state.events.includes('reconnected'), { what: 'reconnected' });
    expect(state.failures).toEqual([1, 2, 3]);
    const rows = await db.query<{ n: number }>('select count(*)::int as n from pg_stat_activity where application_name = $1', [state.applicationName]);
    expect(rows[0]!.n).toBe(1); // the refused connections were dropped
  });

  it('a query past its deadline loses the session with the deadline in the message', async () => {
    const { session, events } = open({ reconnects: false });
    await session.connect();
    await expect(session.query('select pg_sleep(5)', [], { timeoutMs: 100, what: 'slow check' })).rejects.toThrow('slow check did not answer within 100 ms');
    expect(session.connected).toBe(false);
    expect(events).toEqual(['lost: slow check did not answer within 100 ms']);
  });

  it('keepOnFailure: a failed question leaves the session up', async () => {
    const { session, events } = open({ reconnects: false });
    await session.connect();
    await expect(session.query('select 1/0', [], { timeoutMs: 1_000, what: 'question', keepOnFailure: true })).rejects.toThrow(/division by zero/);
    expect(session.connected).toBe(true);
    expect(events).toEqual([]);
    expect(await session.query<{ one: number }>('select 1 as one', [], { timeoutMs: 1_000, what: 'q' })).toEqual([{ one: 1 }]);
  });

  it('without reconnect the owner connects again itself; lose() of a superseded client does nothing', async () => {
    const { session, events } = open({ reconnects: false });
    const first = await session.connect();
    session.lose(first, new Error('wrong answer'));
    expect(events).toEqual(['lost: wrong answer']);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(session.connected).toBe(false); // no reconnect of its own
    const second = await session.connect();
    session.lose(first, new Error('stale'));
    expect(session.client).toBe(second);
    expect(events).toEqual(['lost: wrong answer']);
  });

  it('close() ends the session without a loss or a reconnect', async () => {
    const { session, applicationName, events } = open();
    await session.connect();
    await session.close();
    expect(session.connected).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(events).toEqual([]);
    const rows = await db.query<{ n: number }>('select count(*)::int as n from pg_stat_activity where application_name = $1', [applicationName]);
    expect(rows[0]!.n).toBe(0);
  });

  it('a session closed while connecting is dropped, not used', async () => {
    let release!: () => void;
    const { session, applicationName } = open({ prepare: () => new Promise<void>((resolve) => (release = resolve)) });
    const connecting = session.connect();
    await waitFor(() => release !== undefined, { what: 'prepare started' });
    await session.close();
    release();
    await expect(connecting).rejects.toThrow('test session superseded');
    expect(session.connected).toBe(false);
    await waitFor(async () => {
      const rows = await db.query<{ n: number }>('select count(*)::int as n from pg_stat_activity where application_name = $1', [applicationName]);
      return rows[0]!.n === 0;
    }, { what: 'the dropped connection gone' });
  });
});
