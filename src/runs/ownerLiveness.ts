import pg from 'pg';

/**
 * Process liveness through PostgreSQL session advisory locks: every oddswatch process holds the lock of
 * its owner id on a dedicated connection for its whole life. The lock disappears with the process (even
 * on SIGKILL), so start-up recovery can tell a dead owner's runs from a live replica's.
 * (Needs session-level locks: behind PgBouncer, use session pooling for this connection.)
 */
export class OwnerLiveness {
  private constructor(private readonly client: pg.Client) {}

  static async hold(databaseUrl: string, ownerId: string): Promise<OwnerLiveness> {
    const client = new pg.Client({ connectionString: databaseUrl, application_name: `oddswatch-owner-${ownerId}` });
    await client.connect();
    client.on('error', () => undefined); // a broken lock connection is noticed by the next query
    await client.query('select pg_advisory_lock(hashtextextended($1, 0))', [lockName(ownerId)]);
    return new OwnerLiveness(client);
  }

  /** True while the process that owns `ownerId` holds its lock. */
  async isAlive(ownerId: string): Promise<boolean> {
    const key = lockName(ownerId);
    const { rows } = await this.client.query<{ got: boolean }>('select pg_try_advisory_lock(hashtextextended($1, 0)) as got', [key]);
    if (!rows[0]?.got) return true;
    await this.client.query('select pg_advisory_unlock(hashtextextended($1, 0))', [key]);
    return false;
  }

  async release(): Promise<void> {
    await this.client.end().catch(() => undefined);
  }
}

const lockName = (ownerId: string) => `oddswatch-owner:${ownerId}`;
