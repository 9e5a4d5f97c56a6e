import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import type { HttpJsonPlatform } from './httpJsonAdapter.js';
import { redactText } from './redact.js';

const headerName = z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$/, 'a valid HTTP header name');
/** A header value: literal text (nothing secret), or `{ "env": "NAME" }` read from that environment variable at start-up. */
const headerValue = z.union([z.string().max(8_192), z.object({ env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name') }).strict()]);

const platformsFileSchema = z
  .array(
    z
      .object({
        name: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,39}$/, 'lower-case letters, digits, _ and -, at most 40'),
        baseUrl: z.url({ protocol: /^https?$/ }),
        timeoutMs: z.number().int().min(100).max(600_000).optional(),
        headers: z.record(headerName, headerValue).optional(),
        maxResponseBytes: z.number().int().min(1_024).max(1024 ** 3).optional(),
        minRequestIntervalMs: z.number().int().min(0).max(600_000).optional(),
        /** Origins a redirect may take the credentials to besides baseUrl's own (the rest get none). */
        redirectOrigins: z.array(z.url({ protocol: /^https?$/ })).max(20).optional(),
      })
      .strict(),
  )
  .min(1)
  .refine((items) => new Set(items.map((item) => item.name)).size === items.length, 'platform names must be unique');

/**
 * Reads PLATFORMS_FILE: `[{ "name": "acme", "baseUrl": "https://feeds.acme.example/v1", "timeoutMs": 20000,
 * "headers": { "Authorization": { "env": "ACME_TOKEN" } }, "maxResponseBytes": 10485760, "minRequestIntervalMs": 500, "redirectOrigins": ["https://cdn.acme.example"] }]`.
 * Header values named by environment variable are resolved here and never written back anywhere.
 */
export async function readPlatformsFile(
  file: string,
  defaultTimeoutMs: number,
  env: Record<string, string | undefined> = process.env,
): Promise<HttpJsonPlatform[]> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    // JSON.parse quotes part of the text, where a feed URL with its credentials may be: keep only where.
    const message = (error as Error).message;
    const reason = error instanceof SyntaxError ? `not valid JSON${/ at position \d+/.exec(message)?.[0] ?? ''}` : redactText(message);
    // eslint-disable-next-line preserve-caught-error -- the cause would carry the quoted text into the log
    throw new Error(`PLATFORMS_FILE ${file}: ${reason}`);
  }
  const parsed = platformsFileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`PLATFORMS_FILE ${file}: ${issue?.path.join('.') || 'root'}: ${issue?.message}`);
  }
  return parsed.data.map((item, index) => {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(item.headers ?? {})) {
      if (typeof value === 'string') {
        headers[name] = value;
        continue;
      }
      const resolved = env[value.env];
      if (!resolved) throw new Error(`PLATFORMS_FILE ${file}: ${index}.headers.${name}: environment variable ${value.env} is not set`);
      headers[name] = resolved;
    }
    return {
      name: item.name,
      baseUrl: item.baseUrl,
      timeoutMs: item.timeoutMs ?? defaultTimeoutMs,
      headers,
      ...(item.maxResponseBytes ? { maxResponseBytes: item.maxResponseBytes } : {}),
      ...(item.minRequestIntervalMs ? { minRequestIntervalMs: item.minRequestIntervalMs } : {}),
      ...(item.redirectOrigins ? { redirectOrigins: item.redirectOrigins } : {}),
    };
  });
}
