import { z } from 'zod';
import type { PlatformKind } from '../shared/contract.js';

/**
 * The keys every PLATFORMS_FILE entry has, whatever its kind. A kind adds its own (feed/feedEntry.ts,
 * oddsApi/oddsApiEntry.ts, json/jsonEntry.ts, html/htmlEntry.ts); unknown keys are refused.
 */

const headerName = z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$/, 'a valid HTTP header name');

/** A secret: never written in the file, read from this environment variable at start-up. */
export const secretRef = z.object({ env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name') }).strict();
export type SecretRef = z.infer<typeof secretRef>;

/** A header value: literal text (nothing secret), or `{ "env": "NAME" }`. */
const headerValue = z.union([z.string().max(8_192), secretRef]);

export const httpUrl = z.url({ protocol: /^https?$/ });

export const commonEntryKeys = {
  name: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,39}$/, 'lower-case letters, digits, _ and -, at most 40'),
  timeoutMs: z.number().int().min(100).max(600_000).optional(),
  headers: z.record(headerName, headerValue).optional(),
  maxResponseBytes: z.number().int().min(1_024).max(1024 ** 3).optional(),
  minRequestIntervalMs: z.number().int().min(0).max(600_000).optional(),
  /** Origins a redirect may take the credentials to besides the platform's own (the rest get none). */
  redirectOrigins: z.array(httpUrl).max(20).optional(),
};

/** Pages one step reads at most, when the entry does not say (a runaway pagination must end). */
export const DEFAULT_MAX_PAGES = 100;
export const maxPagesKey = z.number().int().min(1).max(10_000).optional();

/** An entry with its secrets read from the environment: what a kind's adapter is built from. */
export type Resolved<T> = Omit<T, 'headers' | 'apiKey' | 'timeoutMs'> & {
  kind: PlatformKind;
  timeoutMs: number;
  headers: Record<string, string>;
} & (T extends { apiKey: SecretRef } ? { apiKey: string } : unknown);
