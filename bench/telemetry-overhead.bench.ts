/**
 * Telemetry overhead: 20 runs of 10 simulated platforms with the OpenTelemetry SDK disabled, then
 * enabled (tracing with the undici, http and pg instrumentations, plus metrics), in this same process.
 * Prints the ratio of median run wall times. Usage: npm run bench:telemetry.
 */
import { Writable } from 'node:stream';
import { loadConfig } from '../src/config.js';
import type { RunDetail } from '../src/shared/contract.js';
import { createLogger } from '../src/telemetry/logger.js';
import { benchDatabase, median, simulatedPlatforms } from './support.js';

const RUNS = 20;
const silent = createLogger('silent', new Writable({ write: (_chunk, _encoding, callback) => callback() }));
// BENCH_FEED_LATENCY_MS: 5 ms (default) makes the run database-bound, the worst case for tracing overhead.
const latencyMs = Number(process.env.BENCH_FEED_LATENCY_MS ?? 5);
const { file, feeds } = await simulatedPlatforms(10, { latencyMs, pages: 3, eventsPerPage: 20 });

async function measure(label: string): Promise<number> {
  const { startServer } = await import('../src/server.js');
  const db = await benchDatabase();
  const server = await startServer(
    loadConfig({ HOST: '127.0.0.1', PORT: '0', DATABASE_URL: db.url, PLATFORMS_FILE: file, SCHEDULER_ENABLED: 'false', SCRAPE_CONCURRENCY: '5', LOG_LEVEL: 'silent' }),
    { logger: silent },
  );
  const walls: number[] = [];
  try {
    for (let index = 0; index < RUNS + 2; index += 1) {
      const started = performance.now();
      const created = (await (await fetch(`${server.url}/api/runs`, { method: 'POST' })).json()) as RunDetail;
      for (;;) {
        const current = (await (await fetch(`${server.url}/api/runs/${created.id}`)).json()) as RunDetail;
        if (current.finishedAt) break;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      if (index >= 2) walls.push(performance.now() - started); // two warm-up runs
    }
  } finally {
    await server.stop();
    await db.drop();
  }
  console.log(`${label}: median ${median(walls).toFixed(1)} ms per run over ${RUNS} runs of 10 platforms (feed latency ${latencyMs} ms per page)`);
  return median(walls);
}

const disabled = await measure('telemetry disabled');
const { NodeSDK } = await import('@opentelemetry/sdk-node');
const { getNodeAutoInstrumentations } = await import('@opentelemetry/auto-instrumentations-node');
const { InMemorySpanExporter, BatchSpanProcessor } = await import('@opentelemetry/sdk-trace-base');
const exporter = new InMemorySpanExporter();
const sdk = new NodeSDK({
  spanProcessors: [new BatchSpanProcessor(exporter)],
  instrumentations: [getNodeAutoInstrumentations({ '@opentelemetry/instrumentation-fs': { enabled: false }, '@opentelemetry/instrumentation-net': { enabled: false }, '@opentelemetry/instrumentation-dns': { enabled: false }, '@opentelemetry/instrumentation-knex': { enabled: false }, '@opentelemetry/instrumentation-pino': { enabled: false } })],
});
sdk.start();
const enabled = await measure('telemetry enabled');
await sdk.shutdown();
await feeds.stop();
console.log(`telemetry overhead: ${(enabled / disabled).toFixed(3)}x (enabled / disabled, same process)`);
