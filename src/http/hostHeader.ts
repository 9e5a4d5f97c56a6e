import { parseHost, type Host } from '../net.js';

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
