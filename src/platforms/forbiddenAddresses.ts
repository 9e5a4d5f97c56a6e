import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { Agent, buildConnector } from 'undici';
import { parseCidr } from '../net.js';

/**
 * Addresses no platform may reach (SSRF): link-local, where the clouds serve instance metadata and its
 * credentials (169.254.169.254, fd00:ec2::254), unless ALLOW_PLATFORM_ADDRESSES allows them. Checked when
 * the connection is made, on the addresses the name resolved to, so a name that resolves to a public
 * address when an entry is checked and to the metadata address later (DNS rebinding) is still refused.
 * Loopback stays reachable: the simulator and the tests live there.
 */
const FORBIDDEN = new BlockList();
FORBIDDEN.addSubnet('169.254.0.0', 16, 'ipv4');
FORBIDDEN.addSubnet('fe80::', 10, 'ipv6');
FORBIDDEN.addAddress('fd00:ec2::254', 'ipv6');

/**
 * The operator's exceptions (ALLOW_PLATFORM_ADDRESSES). Module state, like the agent that reads it: set
 * once at start-up by startServer (server.ts), before any platform is scraped.
 */
let allowed = new BlockList();

/** Replaces the allowed addresses (IPs or CIDRs, as config.ts validated them). */
export function allowPlatformAddresses(cidrs: readonly string[]): void {
  const list = new BlockList();
  for (const entry of cidrs) {
    const cidr = parseCidr(entry);
    if (!cidr) throw new Error(`ALLOW_PLATFORM_ADDRESSES: ${entry.slice(0, 60)} is no IP address or CIDR`);
    // An IPv4-mapped CIDR (::ffff:169.254.0.0/112) allows the IPv4 addresses it maps.
    const v4 = isIP(cidr.address) === 4 ? cidr.address : mappedIPv4(cidr.address);
    if (v4) list.addSubnet(v4, cidr.family === 'ipv6' ? Math.max(0, cidr.prefix - 96) : cidr.prefix, 'ipv4');
    else list.addSubnet(cidr.address, cidr.prefix, 'ipv6');
  }
  allowed = list;
}

/** `::ffff:a9fe:a9fe` or `::ffff:169.254.169.254` -> `169.254.169.254`; undefined for any other address. */
function mappedIPv4(address: string): string | undefined {
  if (isIP(address) !== 6) return undefined;
  let normal: string;
  try {
    normal = new URL(`http://[${address.replace(/%.*$/, '')}]/`).hostname.slice(1, -1);
  } catch {
    return undefined;
  }
  const match = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(normal);
  if (!match) return undefined;
  const high = Number.parseInt(match[1]!, 16);
  const low = Number.parseInt(match[2]!, 16);
  return [high >> 8, high & 255, low >> 8, low & 255].join('.');
}

/** Whether a platform may not connect to `address` (an IPv4 or IPv6 literal, mapped forms read as IPv4). */
export function isForbiddenAddress(address: string): boolean {
  const v4 = mappedIPv4(address);
  const [plain, family] = v4 ? [v4, 'ipv4' as const] : [address, isIP(address) === 4 ? ('ipv4' as const) : ('ipv6' as const)];
  return FORBIDDEN.check(plain, family) && !allowed.check(plain, family);
}

/** A connection refused before it was made; fetch carries it in `cause` (originBoundFetch.ts words it). */
export class ForbiddenAddressError extends Error {
  override name = 'ForbiddenAddressError';
  readonly code = 'ERR_FORBIDDEN_ADDRESS';
  constructor(readonly address: string) {
    super(`forbidden address ${address}`);
  }
}

/** dns.lookup, failing when any address the name resolves to is forbidden (a name that also resolves elsewhere is no excuse). */
const guardedLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
    if (error) return callback(error, '', 0);
    const refused = addresses.find((entry) => isForbiddenAddress(entry.address));
    if (refused) return callback(new ForbiddenAddressError(refused.address) as NodeJS.ErrnoException, '', 0);
    if (options.all) return (callback as unknown as (error: null, addresses: LookupAddress[]) => void)(null, addresses);
    const [first] = addresses;
    if (!first) return callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), '', 0);
    callback(null, first.address, first.family);
  });
};

// HTTP/1.1 only, as Node's own fetch speaks to the platforms.
const connector = buildConnector({ lookup: guardedLookup, allowH2: false });

/**
 * The dispatcher every platform request goes through. A literal address in the URL is checked here (no
 * lookup happens for it), a name by guardedLookup; either way the refusal comes before any socket exists
 * for a literal, and before the socket connects for a name.
 */
export const platformDispatcher = new Agent({
  connect(options, callback) {
    if (isIP(options.hostname) !== 0 && isForbiddenAddress(options.hostname)) {
      callback(new ForbiddenAddressError(options.hostname), null);
      return;
    }
    connector(options, callback);
  },
});
