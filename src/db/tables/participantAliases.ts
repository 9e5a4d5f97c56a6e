import { boundRows } from '../boundStatement.js';
import type { Orm } from '../database.js';
import type { SqlExecutor } from '../sqlExecutor.js';

/**
 * Who writes `participant_aliases`: the alias routes (PUT/DELETE /api/aliases, through
 * odds/sportingEventMatcher.ts, which re-matches the listings an alias touches in the same transaction).
 * Read by the matcher on every batch.
 */

export interface AliasRow extends Record<string, unknown> {
  alias_key: string;
  alias: string;
  canonical: string;
  canonical_key: string;
  created_at: Date;
}

export function selectAliases(orm: Orm): Promise<AliasRow[]> {
  return boundRows<AliasRow>(orm, `select alias_key, alias, canonical, canonical_key, created_at from participant_aliases order by alias_key`);
}

/** Alias key -> canonical key, for the matcher. */
export async function aliasKeys(sql: SqlExecutor): Promise<Map<string, string>> {
  const rows = await sql<{ alias_key: string; canonical_key: string }>(`select alias_key, canonical_key from participant_aliases`);
  return new Map(rows.map((row) => [row.alias_key, row.canonical_key]));
}

/** Sets an alias (replacing one of the same key); the previous canonical key, if any. */
export async function upsertAlias(sql: SqlExecutor, alias: { aliasKey: string; alias: string; canonical: string; canonicalKey: string }): Promise<string | null> {
  const before = await sql<{ canonical_key: string }>(`select canonical_key from participant_aliases where alias_key = ?`, [alias.aliasKey]);
  await sql(
    `insert into participant_aliases (alias_key, alias, canonical, canonical_key) values (?, ?, ?, ?)
     on conflict (alias_key) do update set alias = excluded.alias, canonical = excluded.canonical, canonical_key = excluded.canonical_key`,
    [alias.aliasKey, alias.alias, alias.canonical, alias.canonicalKey],
  );
  return before[0]?.canonical_key ?? null;
}

/** Deletes an alias; its canonical key, or null when there was none. */
export async function deleteAlias(sql: SqlExecutor, aliasKey: string): Promise<string | null> {
  const rows = await sql<{ canonical_key: string }>(`delete from participant_aliases where alias_key = ? returning canonical_key`, [aliasKey]);
  return rows[0]?.canonical_key ?? null;
}
