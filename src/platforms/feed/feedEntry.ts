import { z } from 'zod';
import { commonEntryKeys, httpUrl } from '../entry.js';

/** `feed` (the default kind): oddswatch's own page shape at `{baseUrl}/events?page=N`. */
export const feedEntry = z
  .object({
    ...commonEntryKeys,
    kind: z.literal('feed'),
    baseUrl: httpUrl,
  })
  .strict();
export type FeedEntry = z.infer<typeof feedEntry>;
