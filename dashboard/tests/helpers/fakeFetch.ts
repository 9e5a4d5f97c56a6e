/**
 * A fake `fetch` for store and composable tests. The real service is exercised end to end later, in Chromium
 * against the running server (tests/e2e); here every response is scripted so each case is exact and fast.
 */
import { vi } from 'vitest';

export interface RecordedCall {
  method: string;
  path: string;
  url: URL;
  headers: Record<string, string>;
  body: unknown;
}

export type Reply = { status?: number; body?: unknown } | ((call: RecordedCall) => { status?: number; body?: unknown } | Promise<{ status?: number; body?: unknown }>);

/**
 * Routes are keyed `"METHOD /path"` (query ignored) or `"METHOD /path?query"` (exact query, checked first).
 * A route's value is a reply or a list of replies used in turn (the last one repeats).
 */
export function installFakeFetch(routes: Record<string, Reply | Reply[]>) {
  const calls: RecordedCall[] = [];
  const used = new Map<string, number>();

  const fetchImpl = vi.fn(async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const url = new URL(String(input), 'http://dashboard.test');
    const method = (init.method ?? 'GET').toUpperCase();
    const headers: Record<string, string> = {};
    new Headers(init.headers).forEach((v, k) => (headers[k.toLowerCase()] = v)); // happy-dom keeps the case
    const call: RecordedCall = {
      method,
      path: url.pathname + url.search,
      url,
      headers,
      body: typeof init.body === 'string' ? JSON.parse(init.body) : undefined,
    };
    calls.push(call);
    const key = [`${method} ${url.pathname}${url.search}`, `${method} ${url.pathname}`].find((k) => k in routes);
    if (!key) return new Response(JSON.stringify({ error: { code: 'not_found', message: `no fake for ${method} ${call.path}` } }), { status: 404 });
    const entry = routes[key]!;
    let reply: Reply;
    if (Array.isArray(entry)) {
      const i = used.get(key) ?? 0;
      used.set(key, i + 1);
      reply = entry[Math.min(i, entry.length - 1)]!;
    } else reply = entry;
    const r = typeof reply === 'function' ? await reply(call) : reply;
    return new Response(r.body === undefined ? '' : JSON.stringify(r.body), {
      status: r.status ?? 200,
      headers: { 'Content-Type': 'application/json' },
    });
  });
  vi.stubGlobal('fetch', fetchImpl);

  return {
    calls,
    fetch: fetchImpl,
    callsTo: (method: string, pathname: string) => calls.filter((c) => c.method === method && c.url.pathname === pathname),
  };
}

export const apiError = (status: number, code: string, message = code, details?: unknown) => ({
  status,
  body: { error: { code, message, ...(details === undefined ? {} : { details }) } },
});

/** Lets pending promise chains (fake fetch -> store) settle. */
export async function flush(times = 10) {
  for (let i = 0; i < times; i++) await Promise.resolve();
  await new Promise((r) => setTimeout(r, 0));
}
