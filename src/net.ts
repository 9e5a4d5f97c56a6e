import { createServer, isIP, isIPv4, isIPv6 } from 'node:net';

/** A loopback port free right now (for a server that must listen on a known port). */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.unref();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** `::ffff:10.0.0.1` (an IPv4 peer on a dual-stack socket) -> `10.0.0.1`; lowercase. */
export const canonicalAddress = (address: string) => {
  const lower = address.trim().toLowerCase();
  return lower.startsWith('::ffff:') && isIP(lower.slice(7)) === 4 ? lower.slice(7) : lower;
};

/** `address` or `address/prefix` (an IPv4 or IPv6 CIDR); undefined when it is neither. */
export function parseCidr(value: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } | undefined {
  const [address = '', prefix, ...rest] = value.trim().split('/');
  const version = isIP(address);
  if (version === 0 || rest.length > 0) return undefined;
  const bits = version === 4 ? 32 : 128;
  if (prefix !== undefined && !/^\d{1,3}$/.test(prefix)) return undefined;
  const length = prefix === undefined ? bits : Number(prefix);
  if (length > bits) return undefined;
  return { address: canonicalAddress(address), prefix: length, family: version === 4 ? 'ipv4' : 'ipv6' };
}

const LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
/** `name[:port]` or `[ipv6][:port]`, lowercase: a Host header, or an ALLOWED_HOSTS entry. */
const HOST = new RegExp(`^(?:(${LABEL}(?:\\.${LABEL})*)\\.?|\\[([0-9a-f:.]+)\\])(?::(\\d{1,5}))?$`);

export interface Host {
  name: string;
  port: number | undefined;
  isAddress: boolean;
}

/** Parses `name[:port]` / `[ipv6][:port]` (case-insensitive; a trailing dot dropped); undefined when it is neither. */
export function parseHost(value: string): Host | undefined {
  const match = HOST.exec(value.trim().toLowerCase());
  if (!match) return undefined;
  const [, name, ipv6, port] = match;
  if (port !== undefined && Number(port) > 65_535) return undefined;
  if (ipv6 !== undefined && !isIPv6(ipv6)) return undefined;
  return { name: ipv6 === undefined ? name! : `[${ipv6}]`, port: port === undefined ? undefined : Number(port), isAddress: ipv6 !== undefined || isIPv4(name!) };
}
