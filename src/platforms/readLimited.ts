/**
 * Reads a response body, at most `maxBytes`: undefined (and the body cancelled) as soon as it grows past
 * the limit, so a runaway feed never holds more than the limit in memory. A Content-Length over the limit
 * is refused before reading. Aborting `signal` (the platform's timeout) ends the read.
 */
export async function readLimited(response: Response, maxBytes: number, signal: AbortSignal): Promise<Buffer | undefined> {
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    return undefined;
  }
  if (!response.body) return Buffer.alloc(0);
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  signal.throwIfAborted();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => undefined);
      return undefined;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}
