import type { LimitReason } from '../../telemetry/metrics.js';

/** How long a refused client is asked to wait (Retry-After, seconds). */
export const STREAM_LIMIT_RETRY_AFTER_SECONDS = 5;

/**
 * Open SSE streams per client and in total. `tryOpen` reserves a slot or names the limit that refuses
 * it; `release` gives the slot back (once per successful `tryOpen`). The client is its address as
 * clientAddress.ts resolves it: behind a proxy listed in TRUSTED_PROXIES, the address it forwards for.
 */
export class StreamLimits {
  private total = 0;
  private readonly perClient = new Map<string, number>();

  constructor(
    private readonly maxPerClient: number,
    private readonly maxTotal: number,
  ) {}

  tryOpen(client: string): Extract<LimitReason, 'sse_client' | 'sse_total'> | undefined {
    const held = this.perClient.get(client) ?? 0;
    if (held >= this.maxPerClient) return 'sse_client';
    if (this.total >= this.maxTotal) return 'sse_total';
    this.perClient.set(client, held + 1);
    this.total += 1;
    return undefined;
  }

  release(client: string): void {
    const held = this.perClient.get(client) ?? 0;
    if (held <= 1) this.perClient.delete(client);
    else this.perClient.set(client, held - 1);
    this.total = Math.max(0, this.total - 1);
  }

  get open(): number {
    return this.total;
  }
}
