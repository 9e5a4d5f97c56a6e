/**
 * The page token of GET /api/runs (`cursor` in the query, `nextCursor` in the page): opaque to
 * clients, it names the last run of the previous page. Not to be confused with an SSE stream
 * position (Last-Event-ID).
 */
export const encodePageToken = (lastRunId: number) => Buffer.from(`r:${lastRunId}`).toString('base64url');

/** The run id a page token points before, or null when it is not one of ours. */
export function decodePageToken(token: string): number | null {
  const match = /^r:(\d{1,15})$/.exec(Buffer.from(token, 'base64url').toString('utf8'));
  return match ? Number(match[1]) : null;
}
