import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import type { HttpJsonPlatform } from './httpJsonAdapter.js';

const platformsFileSchema = z
  .array(
    z.object({
      name: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,39}$/, 'lower-case letters, digits, _ and -, at most 40'),
      baseUrl: z.url({ protocol: /^https?$/ }),
      timeoutMs: z.number().int().min(100).max(600_000).optional(),
    }),
  )
  .min(1)
  .refine((items) => new Set(items.map((item) => item.name)).size === items.length, 'platform names must be unique');

/** Reads PLATFORMS_FILE: `[{ "name": "acme", "baseUrl": "https://feeds.acme.example/v1", "timeoutMs": 20000 }]`. */
export async function readPlatformsFile(file: string, defaultTimeoutMs: number): Promise<HttpJsonPlatform[]> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new Error(`PLATFORMS_FILE ${file}: ${(error as Error).message}`, { cause: error });
  }
  const parsed = platformsFileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`PLATFORMS_FILE ${file}: ${issue?.path.join('.') || 'root'}: ${issue?.message}`);
  }
  return parsed.data.map((item) => ({ name: item.name, baseUrl: item.baseUrl, timeoutMs: item.timeoutMs ?? defaultTimeoutMs }));
}
