/**
 * The lean SSE clients of bench/sse-fanout.bench.ts, in their own process: raw http.request, a minimal
 * frame splitter, and per client the ids seen and each event's delivery delay (receive time minus the
 * event's `at`). Driven over IPC: connect, report, close.
 */
import http from 'node:http';

interface Client {
  request: http.ClientRequest;
  ids: number[];
  delays: number[];
  /** Raw server only: receive time minus when it wrote the frame (`writtenAt`), the earlier baseline. */
  writeDelays: number[];
  comments: number;
}

let clients: Client[] = [];
const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });

function open(url: string): Promise<Client> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { agent, headers: { accept: 'text/event-stream' } }, (response) => {
      if (response.statusCode !== 200) {
        response.resume();
        reject(new Error(`stream refused: HTTP ${response.statusCode}`));
        return;
      }
      const client: Client = { request, ids: [], delays: [], writeDelays: [], comments: 0 };
      let carry = '';
      let resolved = false;
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        const now = Date.now();
        carry += chunk;
        let end = carry.indexOf('\n\n');
        while (end !== -1) {
          const frame = carry.slice(0, end);
          carry = carry.slice(end + 2);
          end = carry.indexOf('\n\n');
          if (frame.startsWith(':')) client.comments += 1;
          const idAt = frame.indexOf('\nid: ');
          if (idAt !== -1) {
            client.ids.push(Number(frame.slice(idAt + 5, frame.indexOf('\n', idAt + 5))));
            const at = frame.indexOf('"at":"');
            if (at !== -1) client.delays.push(now - Date.parse(frame.slice(at + 6, at + 30)));
            const written = frame.indexOf('"writtenAt":"');
            if (written !== -1) client.writeDelays.push(now - Date.parse(frame.slice(written + 13, written + 37)));
          }
        }
        if (!resolved) {
          resolved = true;
          resolve(client);
        }
      });
      response.on('error', () => undefined);
    });
    request.on('error', reject);
  });
}

async function connect(url: string, count: number, concurrency: number): Promise<number> {
  const started = performance.now();
  let next = 0;
  const opened: Client[] = [];
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        next += 1;
        opened.push(await open(url));
      }
    }),
  );
  clients.push(...opened);
  return performance.now() - started;
}

function report() {
  const reference = clients[0]?.ids ?? [];
  let duplicates = 0;
  let outOfOrder = 0;
  let differing = 0;
  const delays: number[] = [];
  const writeDelays: number[] = [];
  for (const client of clients) {
    const seen = new Set<number>();
    for (let index = 0; index < client.ids.length; index += 1) {
      const id = client.ids[index]!;
      if (seen.has(id)) duplicates += 1;
      seen.add(id);
      if (index > 0 && id <= client.ids[index - 1]!) outOfOrder += 1;
    }
    if (client.ids.length !== reference.length || client.ids.some((id, index) => id !== reference[index])) differing += 1;
    delays.push(...client.delays);
    writeDelays.push(...client.writeDelays);
  }
  delays.sort((a, b) => a - b);
  writeDelays.sort((a, b) => a - b);
  const pickOf = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
  const counts = clients.map((client) => client.ids.length);
  return { clients: clients.length, minEvents: Math.min(...counts), maxEvents: Math.max(...counts), duplicates, outOfOrder, differing, p50: pickOf(delays, 0.5), p99: pickOf(delays, 0.99), writeP50: pickOf(writeDelays, 0.5), writeP99: pickOf(writeDelays, 0.99), referenceIds: reference };
}

/** Resolves when every client has `count` events, or after `timeoutMs`. */
async function waitForEvents(count: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && clients.some((client) => client.ids.length < count)) await new Promise((resolve) => setTimeout(resolve, 20));
}

process.on('message', async (message: { waitFor?: { count: number; timeoutMs: number }; connect?: { url: string; count: number; concurrency: number }; report?: boolean; reset?: boolean; close?: boolean }) => {
  if (message.connect) process.send!({ connectMs: await connect(message.connect.url, message.connect.count, message.connect.concurrency) });
  if (message.waitFor) {
    await waitForEvents(message.waitFor.count, message.waitFor.timeoutMs);
    process.send!({ waited: true });
  }
  if (message.reset) {
    for (const client of clients) {
      client.ids = [];
      client.delays = [];
      client.writeDelays = [];
    }
    process.send!({ reset: true });
  }
  if (message.report) process.send!({ report: report() });
  if (message.close) {
    for (const client of clients) client.request.destroy();
    clients = [];
    process.send!({ closed: true });
  }
});
process.send!({ ready: true });
