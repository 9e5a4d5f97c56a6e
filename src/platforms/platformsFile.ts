import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { browserEntry, type BrowserEntry } from './browser/browserEntry.js';
import type { Resolved } from './entry.js';
import { feedEntry, type FeedEntry } from './feed/feedEntry.js';
import { htmlEntry, type HtmlEntry } from './html/htmlEntry.js';
import { jsonEntry, type JsonEntry } from './json/jsonEntry.js';
import { oddsApiEntry, type OddsApiEntry } from './oddsApi/oddsApiEntry.js';
import { redactText } from './redact.js';
import { PLATFORM_KINDS } from '../shared/contract.js';

/** One PLATFORMS_FILE entry with its secrets read from the environment: what an adapter is built from. */
export type PlatformEntry =
  | ({ kind: 'feed' } & Resolved<FeedEntry>)
  | ({ kind: 'odds-api' } & Resolved<OddsApiEntry>)
  | ({ kind: 'json' } & Resolved<JsonEntry>)
  | ({ kind: 'html' } & Resolved<HtmlEntry>)
  | ({ kind: 'browser' } & Resolved<BrowserEntry>);

const ENTRY_SCHEMAS = { feed: feedEntry, 'odds-api': oddsApiEntry, json: jsonEntry, html: htmlEntry, browser: browserEntry } as const;

/** Why an entry is refused: where (its name, else its index) and what, never a value (it may be a secret). */
export class PlatformEntryError extends Error {
  override name = 'PlatformEntryError';
}

/**
 * One entry as it stands in PLATFORMS_FILE (also the preview's body): an entry without `kind` is a `feed`.
 * Header values and `apiKey` given as `{ "env": "NAME" }` are read from `env` here and never written back.
 */
export function parsePlatformEntry(raw: unknown, defaultTimeoutMs: number, env: Record<string, string | undefined>, label = 'entry'): PlatformEntry {
  const name = typeof raw === 'object' && raw !== null && typeof (raw as { name?: unknown }).name === 'string' ? (raw as { name: string }).name : undefined;
  const where = name && /^[a-z0-9][a-z0-9_-]{0,39}$/.test(name) ? `platform ${name}` : label;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new PlatformEntryError(`${where}: expected an object`);
  const kind = (raw as { kind?: unknown }).kind ?? 'feed';
  if (typeof kind !== 'string' || !(kind in ENTRY_SCHEMAS)) {
    throw new PlatformEntryError(`${where}: kind must be one of ${PLATFORM_KINDS.join(', ')}`);
  }
  const parsed = ENTRY_SCHEMAS[kind as keyof typeof ENTRY_SCHEMAS].safeParse({ ...raw, kind });
  if (!parsed.success) throw new PlatformEntryError(`${where}: ${describeIssue(parsed.error.issues[0])}`);
  const entry = parsed.data as Record<string, unknown> & { headers?: Record<string, string | { env: string }>; apiKey?: { env: string }; timeoutMs?: number };
  const secret = (ref: { env: string }, key: string) => {
    const value = env[ref.env];
    if (!value) throw new PlatformEntryError(`${where}: ${key}: environment variable ${ref.env} is not set`);
    return value;
  };
  const headers: Record<string, string> = {};
  for (const [header, value] of Object.entries(entry.headers ?? {})) headers[header] = typeof value === 'string' ? value : secret(value, `headers.${header}`);
  return {
    ...entry,
    timeoutMs: entry.timeoutMs ?? defaultTimeoutMs,
    headers,
    ...(entry.apiKey ? { apiKey: secret(entry.apiKey, 'apiKey') } : {}),
  } as PlatformEntry;
}

/** Where and what: `rows.markets.0.name: Invalid input`, `unrecognized key "fooo"`. Never the value. */
function describeIssue(issue: z.core.$ZodIssue | undefined): string {
  if (!issue) return 'invalid';
  const path = issue.path.join('.');
  const what = issue.code === 'unrecognized_keys' ? `unknown key ${issue.keys.map((key) => `"${key.slice(0, 60)}"`).join(', ')}` : issue.message;
  return path ? `${path}: ${what}` : what;
}

/**
 * Reads PLATFORMS_FILE: a JSON array of entries with unique names, each of some kind (docs/platforms.md).
 * Secrets named by environment variable are resolved here and never written back anywhere.
 */
export async function readPlatformsFile(file: string, defaultTimeoutMs: number, env: Record<string, string | undefined> = process.env): Promise<PlatformEntry[]> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    // JSON.parse quotes part of the text, where a platform URL with its credentials may be: keep only where.
    const message = (error as Error).message;
    const reason = error instanceof SyntaxError ? `not valid JSON${/ at position \d+/.exec(message)?.[0] ?? ''}` : redactText(message);
    // eslint-disable-next-line preserve-caught-error -- the cause would carry the quoted text into the log
    throw new Error(`PLATFORMS_FILE ${file}: ${reason}`);
  }
  if (!Array.isArray(raw) || raw.length === 0) throw new Error(`PLATFORMS_FILE ${file}: expected a non-empty array of platforms`);
  const entries = raw.map((item: unknown, index) => {
    try {
      return parsePlatformEntry(item, defaultTimeoutMs, env, `entry ${index}`);
    } catch (error) {
      if (error instanceof PlatformEntryError) throw new Error(`PLATFORMS_FILE ${file}: ${error.message}`, { cause: error });
      throw error;
    }
  });
  const names = entries.map((entry) => entry.name);
  const repeated = names.find((name, index) => names.indexOf(name) !== index);
  if (repeated) throw new Error(`PLATFORMS_FILE ${file}: platform names must be unique (${repeated} is repeated)`);
  return entries;
}

/** The entry's secret values (headers, an API key, URL userinfo and query values): masked wherever they could be shown. */
export function entrySecrets(entry: PlatformEntry): string[] {
  const values: string[] = [...Object.values(entry.headers)];
  if ('apiKey' in entry && typeof entry.apiKey === 'string') values.push(entry.apiKey);
  for (const key of ['baseUrl', 'url'] as const) {
    const raw = (entry as Partial<Record<typeof key, unknown>>)[key];
    if (typeof raw !== 'string') continue;
    try {
      const url = new URL(raw);
      values.push(decodeURIComponent(url.username), decodeURIComponent(url.password), ...url.searchParams.values());
    } catch {
      // the schema checked it is a URL
    }
  }
  return values.filter((value) => value.length >= 4);
}
