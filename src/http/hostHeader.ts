import { isIPv4, isIPv6 } from 'node:net';

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

/**
 * Whether a request's Host is one this service answers to. A page whose name an attacker rebound to this
 * address (DNS rebinding) sends that name; an IP literal cannot be rebound, and browsers resolve localhost
 * and *.localhost to loopback themselves. Those pass, and the names in `allowed` (`name` on any port,
 * `name:port` on that port only). No Host at all is no browser.
 */
export function isAllowedHost(header: string | undefined, allowed: readonly Host[]): boolean {
  if (header === undefined) return true;
  const host = parseHost(header);
  if (!host) return false;
  if (host.isAddress || host.name === 'localhost' || host.name.endsWith('.localhost')) return true;
  return allowed.some((wanted) => wanted.name === host.name && (wanted.port === undefined || wanted.port === host.port));
}
