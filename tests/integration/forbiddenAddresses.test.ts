import dc from 'node:diagnostics_channel';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { IGNORE_OBSERVATIONS, PlatformError } from '../../src/platforms/adapter.js';
import { createFeedAdapter } from '../../src/platforms/feed/feedAdapter.js';
import { allowPlatformAddresses, isForbiddenAddress } from '../../src/platforms/forbiddenAddresses.js';

/**
 * Link-local and cloud-metadata addresses are refused when the connection is made: a literal in the URL,
 * its IPv4-mapped IPv6 spelling, and a redirect from an allowed host. Each connection attempt is watched
 * (net's `connectionAttempt`, through the `net.client.socket` channel): a refusal makes none, and with
 * the address allowed (ALLOW_PLATFORM_ADDRESSES) the very same request gets as far as the attempt, where
 * the test aborts it (169.254.169.254 may answer here: nothing is ever sent to it).
 */
const METADATA = '169.254.169.254';
/** A port nothing is expected on (fetch refuses its "bad ports" such as 1 before any connection). */
const METADATA_URL = `http://${METADATA}:65000/latest`;

const attempts: string[] = [];
let onAttempt: ((address: string) => void) | undefined;
const watchSockets = ({ socket }: { socket: Socket }) => {
  socket.on('connectionAttempt', (address: string) => {
    attempts.push(address);
    onAttempt?.(address);
  });
};

let redirector: http.Server;
let redirectorUrl: string;
let redirectorHits = 0;

beforeAll(async () => {
  dc.subscribe('net.client.socket', watchSockets as (message: unknown) => void);
  redirector = http.createServer((_request, response) => {
    redirectorHits += 1;
    response.writeHead(302, { location: `${METADATA_URL}/meta-data/` }).end();
  });
  await new Promise<void>((resolve) => redirector.listen(0, '127.0.0.1', resolve));
  redirectorUrl = `http://127.0.0.1:${(redirector.address() as AddressInfo).port}/feed`;
});
afterAll(async () => {
  dc.unsubscribe('net.client.socket', watchSockets as (message: unknown) => void);
  await new Promise((resolve) => redirector?.close(resolve));
});
afterEach(() => {
  allowPlatformAddresses([]);
  attempts.length = 0;
  onAttempt = undefined;
});

const offLoopback = () => attempts.filter((address) => address !== '127.0.0.1' && address !== '::1');

/** Scrapes one page of a feed at `baseUrl`; aborts the moment a connection to a non-loopback address is attempted. */
async function scrape(baseUrl: string): Promise<unknown> {
  const controller = new AbortController();
  onAttempt = (address) => {
    if (address !== '127.0.0.1' && address !== '::1') controller.abort(new Error('aborted at the connection attempt'));
  };
  const adapter = createFeedAdapter({ kind: 'feed', name: 'metadata', baseUrl, timeoutMs: 5_000, headers: {} });
  try {
    await adapter.scrape(AbortSignal.any([controller.signal, AbortSignal.timeout(5_000)]), async () => {}, IGNORE_OBSERVATIONS, 1);
    return 'resolved';
  } catch (error) {
    return error;
  }
}

describe('a platform at a forbidden address', () => {
  it.each([
    ['an IPv4 literal', `${METADATA_URL}`, METADATA],
    ['an IPv4-mapped IPv6 literal', `http://[::ffff:${METADATA}]:65000/latest`, '::ffff:a9fe:a9fe'],
    ['an IPv6 link-local literal', 'http://[fe80::1]:65000/latest', 'fe80::1'],
    ['the EC2 IPv6 metadata address', 'http://[fd00:ec2::254]:65000/latest', 'fd00:ec2::254'],
  ])('is refused as forbidden_address without a connection attempt: %s', async (_label, url, address) => {
    const error = await scrape(url);
    expect(error).toBeInstanceOf(PlatformError);
    expect((error as PlatformError).reason).toBe('forbidden_address');
    expect((error as PlatformError).message).toBe(`the platform's host resolves to a forbidden address (${address})`);
    expect(attempts).toEqual([]);
  });

  it('is refused after a redirect from a loopback platform, which alone was connected to', async () => {
    const before = redirectorHits;
    const error = await scrape(redirectorUrl);
    expect((error as PlatformError).reason).toBe('forbidden_address');
    expect((error as PlatformError).message).toBe(`the platform's host resolves to a forbidden address (${METADATA}, reached by a redirect)`);
    expect(redirectorHits).toBe(before + 1);
    expect(offLoopback()).toEqual([]);
  });

  it.each([
    ['an IPv4 literal', METADATA_URL, '169.254.0.0/16'],
    ['an IPv4-mapped IPv6 literal', `http://[::ffff:${METADATA}]:65000/latest`, '169.254.0.0/16'],
    ['a redirect', undefined, `${METADATA}`],
    ['an IPv6 link-local literal', 'http://[fe80::1]:65000/latest', 'fe80::/10'],
  ])('is connected to once ALLOW_PLATFORM_ADDRESSES allows it: %s', async (_label, url, allow) => {
    allowPlatformAddresses([allow]);
    const error = await scrape(url ?? redirectorUrl);
    expect(error).not.toBe('resolved');
    expect(error instanceof PlatformError ? error.reason : 'not a platform error').not.toBe('forbidden_address');
    expect(offLoopback().length).toBeGreaterThan(0);
  });
});

describe('a platform at an allowed address', () => {
  let feed: http.Server;
  let port: number;
  beforeAll(async () => {
    feed = http.createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ page: 1, totalPages: 1, events: [] }));
    });
    await new Promise<void>((resolve) => feed.listen(0, '127.0.0.1', resolve));
    port = (feed.address() as AddressInfo).port;
  });
  afterAll(() => new Promise((resolve) => feed?.close(resolve)));

  it.each([
    ['a loopback literal', () => `http://127.0.0.1:${port}/feed`],
    ['a name that resolves to loopback (the lookup is checked, then used)', () => `http://localhost:${port}/feed`],
  ])('is scraped: %s', async (_label, url) => {
    expect(await scrape(url())).toBe('resolved');
  });
});

describe('isForbiddenAddress', () => {
  it('covers link-local, the metadata addresses and their IPv4-mapped spellings, not loopback or public addresses', () => {
    for (const address of ['169.254.0.1', '169.254.169.254', '169.254.255.255', '::ffff:169.254.169.254', '::ffff:a9fe:a9fe', 'fe80::1', 'febf::ffff', 'fd00:ec2::254']) {
      expect({ address, forbidden: isForbiddenAddress(address) }).toEqual({ address, forbidden: true });
    }
    for (const address of ['127.0.0.1', '::1', '::ffff:127.0.0.1', '169.253.255.255', '169.255.0.0', '10.0.0.1', '8.8.8.8', 'fec0::1', 'fd00:ec2::253', '2001:db8::1']) {
      expect({ address, forbidden: isForbiddenAddress(address) }).toEqual({ address, forbidden: false });
    }
  });

  it('lets ALLOW_PLATFORM_ADDRESSES through, as written or IPv4-mapped, and only those', () => {
    allowPlatformAddresses(['169.254.169.254', '::ffff:169.254.10.0/120', 'fe80::/64']);
    expect(isForbiddenAddress('169.254.169.254')).toBe(false);
    expect(isForbiddenAddress('::ffff:a9fe:a9fe')).toBe(false);
    expect(isForbiddenAddress('169.254.10.7')).toBe(false);
    expect(isForbiddenAddress('169.254.11.7')).toBe(true);
    expect(isForbiddenAddress('fe80::1')).toBe(false);
    expect(isForbiddenAddress('fe80:0:0:1::1')).toBe(true);
    expect(isForbiddenAddress('fd00:ec2::254')).toBe(true);
  });
});
