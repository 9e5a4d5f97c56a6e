import { randomUUID } from 'node:crypto';
import { metrics } from '@opentelemetry/api';
import { getNodeAutoInstrumentations } from '@opentelemetry/auto-instrumentations-node';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AggregationType, type ViewOptions } from '@opentelemetry/sdk-metrics';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import { redactedClientSpanAttributes } from '../platforms/redact.js';
import { VERSION } from '../version.js';
import { createPrometheusExporter, metricsPipelineFrom, type MetricsPipeline } from './prometheus.js';

/**
 * The OpenTelemetry SDK of the service process, started by register.ts before anything it instruments
 * is loaded. Traces go over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set (the standard OTEL_* variables
 * apply); metrics are pulled by Prometheus from /metrics.
 */
let sdk: NodeSDK | undefined;
let pipeline: MetricsPipeline | undefined;

const QUIET_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

/** Both the http and the undici instrumentation emit http.client.request.duration; oddswatch's clients use fetch (undici). */
const views: ViewOptions[] = [
  { instrumentName: 'http.client.request.duration', meterName: '@opentelemetry/instrumentation-http', aggregation: { type: AggregationType.DROP } },
  { instrumentName: 'http.client.duration', meterName: '@opentelemetry/instrumentation-http', aggregation: { type: AggregationType.DROP } },
];

export function startTelemetry(env: Record<string, string | undefined>): void {
  if (sdk) return;
  const exporter = createPrometheusExporter();
  sdk = new NodeSDK({
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: env.OTEL_SERVICE_NAME ?? 'oddswatch',
      [ATTR_SERVICE_VERSION]: VERSION,
      'service.instance.id': randomUUID(),
    }),
    metricReaders: [exporter],
    // Without an exporter spans are still recorded (not exported), so runs and logs get real trace ids.
    ...(env.OTEL_TRACES_EXPORTER === 'none' ? { spanProcessors: [] } : {}),
    views,
    instrumentations: [
      getNodeAutoInstrumentations({
        '@opentelemetry/instrumentation-fs': { enabled: false },
        '@opentelemetry/instrumentation-dns': { enabled: false },
        '@opentelemetry/instrumentation-net': { enabled: false },
        '@opentelemetry/instrumentation-pino': { enabled: false }, // the logger's mixin adds trace ids itself
        '@opentelemetry/instrumentation-knex': { enabled: false }, // pg spans already show every query
        '@opentelemetry/instrumentation-undici': { startSpanHook: redactedClientSpanAttributes }, // feed URLs carry API keys
        '@opentelemetry/instrumentation-http': {
          ignoreIncomingRequestHook: (request) => QUIET_PATHS.has((request.url ?? '').split('?')[0] ?? ''),
        },
      }),
    ],
  });
  sdk.start();
  pipeline = metricsPipelineFrom(exporter, metrics.getMeter('oddswatch'));
}

/** The SDK's metrics pipeline, or undefined when the process was started without register.ts. */
export function telemetryPipeline(): MetricsPipeline | undefined {
  return pipeline;
}

/** Flushes spans and metrics. */
export async function stopTelemetry(): Promise<void> {
  await sdk?.shutdown();
  sdk = undefined;
}
