import pg from 'pg';
import { settlesWithin } from '../shared/timeout.js';

/**
 * A pg.Client of its own (outside the ORM pool) for a long-lived session: LISTEN, session advisory
 * locks. TCP keepalive on, so a peer that vanished without a FIN is eventually noticed by the kernel;
 * the owners also run a periodic `check` because keepalive alone takes minutes with default timers.
 */
export interface DedicatedClientOptions {
  databaseUrl: string;
  applicationName: string;
  connectTimeoutMs?: number;
}

export async function connectDedicated(options: DedicatedClientOptions, onBroken: (error: Error) => void): Promise<pg.Client> {
  const client = new pg.Client({
    connectionString: options.databaseUrl,
    application_name: options.applicationName,
    keepAlive: true,
    keepAliveInitialDelayMillis: 5_000,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5_000,
  });
  let reported = false;
  const report = (error: Error) => {
    if (reported) return;
    reported = true;
    onBroken(error);
  };
  client.on('error', report);
  client.on('end', () => report(new Error('connection ended')));
  try {
    await client.connect();
  } catch (error) {
    reported = true; // the caller handles a failed connect itself
    destroyClient(client);
    throw error;
  }
  return client;
}

/** Ends a client without waiting on a peer that may never answer (a half-open socket). */
export function destroyClient(client: pg.Client): void {
  const stream = (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream;
  client.end().catch(() => undefined);
  stream?.destroy();
}

/** Ends a client politely, then forcibly after `graceMs`. */
export async function closeClient(client: pg.Client, graceMs = 1_000): Promise<void> {
  if (!(await settlesWithin(client.end(), graceMs))) destroyClient(client);
}
