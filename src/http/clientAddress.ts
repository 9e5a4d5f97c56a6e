import type { IncomingMessage } from 'node:http';
import { BlockList, isIP } from 'node:net';
import type { Context, MiddlewareHandler } from 'hono';
import { canonicalAddress, parseCidr } from '../net.js';
import type { AppEnv } from './appEnv.js';

/** Longest client key kept (an X-Forwarded-For entry is whatever a trusted proxy passed on). */
const MAX_KEY_LENGTH = 64;

/** TRUSTED_PROXIES: the addresses whose X-Forwarded-For is believed. */
export class TrustedProxies {
  private readonly list = new BlockList();
  private readonly empty: boolean;

  constructor(entries: readonly string[]) {
    const cidrs = entries.map(parseCidr).filter((cidr) => cidr !== undefined);
    for (const cidr of cidrs) this.list.addSubnet(cidr.address, cidr.prefix, cidr.family);
    this.empty = cidrs.length === 0;
  }

  has(address: string): boolean {
    if (this.empty) return false;
    const version = isIP(address);
    return version !== 0 && this.list.check(address, version === 4 ? 'ipv4' : 'ipv6');
  }
}

/**
 * The client a request comes from: its TCP peer, unless that is a trusted proxy; then the right-most
 * X-Forwarded-For address that is not itself a trusted proxy (each proxy appends the address it was
 * reached from, so entries left of the last untrusted one are the client's own word). Every entry
 * trusted: the left-most.
 */
export function clientAddress(peer: string | undefined, forwardedFor: string | undefined, trusted: TrustedProxies): string {
  let client = canonicalAddress(peer ?? 'unknown');
  if (!trusted.has(client) || !forwardedFor) return client;
  const hops = forwardedFor.split(',').map(canonicalAddress).filter(Boolean);
  for (let i = hops.length - 1; i >= 0; i -= 1) {
    client = hops[i]!.slice(0, MAX_KEY_LENGTH);
    if (!trusted.has(client)) break;
  }
  return client;
}

/** Resolves the request's client once (`c.var.client`) for the limits that count per client. */
export function identifyClient(trusted: TrustedProxies): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const peer = (c.env?.incoming as IncomingMessage | undefined)?.socket.remoteAddress;
    c.set('client', clientAddress(peer, c.req.header('x-forwarded-for'), trusted));
    await next();
  };
}

/** The client identifyClient resolved; the TCP peer on a path it did not run on. */
export function clientOf(c: Context<AppEnv>): string {
  return c.get('client') ?? canonicalAddress((c.env?.incoming as IncomingMessage | undefined)?.socket.remoteAddress ?? 'unknown');
}
