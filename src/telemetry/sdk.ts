import { randomUUID } from 'node:crypto';
import { metrics } from '@opentelemetry/api';
import type { Instrumentation } from '@opentelemetry/instrumentation';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { PinoInstrumentation } from '@opentelemetry/instrumentation-pino';
import { RuntimeNodeInstrumentation } from '@opentelemetry/instrumentation-runtime-node';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AggregationType, type ViewOptions } from '@opentelemetry/sdk-metrics';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import { isEventStreamPath, isProbePath, requestPath } from './quietPaths.js';
import { VERSION } from '../version.js';
import { RecentTraces } from './recentTraces.js';
import { observeProcess } from './processMetrics.js';
import { resourceDetectors } from './resource.js';
import { createPrometheusExporter, metricsPipelineFrom, type MetricsPipeline } from './prometheus.js';

/**
 * The OpenTelemetry SDK of the service process, started by register.ts before anything it instruments
 * is loaded. Traces go over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set (the standard OTEL_* variables
 * apply); metrics are pulled by Prometheus from /metrics.
 */
let sdk: NodeSDK | undefined;
let pipeline: MetricsPipeline | undefined;
let recent: RecentTraces | undefined;
/** This process's `service.instance.id`: the resource of its spans and target_info, and its replica id (main.ts). */
const instanceId = randomUUID();

/**
 * The instrumentations oddswatch has something for: Hono on node:http, runtime metrics, pino. Only these
 * (and pg, off unless asked for) are installed, not the auto-instrumentations bundle of ~40. Feed requests
 * (fetch) and SQL statements make their spans themselves (platforms/feedRequestTelemetry.ts,
 * db/statementTelemetry.ts), not through the undici and pg instrumentations: cheaper, redacted at the source
 * (no traceparent to the bookmakers, no parameter values in a span). OTEL_NODE_ENABLED_INSTRUMENTATIONS
 * (short names, comma-separated) chooses among these four; a name outside them is ignored.
 */
const DEFAULT_INSTRUMENTATIONS = 'http,runtime-node,pino';

/** The enabled short names of OTEL_NODE_ENABLED_INSTRUMENTATIONS, or the defaults. */
export function enabledInstrumentations(env: Record<string, string | undefined>): Set<string> {
  const names = (env.OTEL_NODE_ENABLED_INSTRUMENTATIONS || DEFAULT_INSTRUMENTATIONS).split(',').map((name) => name.trim()).filter(Boolean);
  return new Set(names);
}

function instrumentations(env: Record<string, string | undefined>): Instrumentation[] {
  const enabled = enabledInstrumentations(env);
  const chosen: Instrumentation[] = [];
  if (enabled.has('http')) {
    chosen.push(
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (request) => {
          const path = requestPath(request.url);
          return isProbePath(path) || isEventStreamPath(path);
        },
      }),
    );
  }
  if (enabled.has('runtime-node')) chosen.push(new RuntimeNodeInstrumentation());
  // Log records over OTLP (trace and span ids from the active span) beside the stdout lines, only when
  // exported: the bridge parses every line again. The logger's own mixin writes trace_id/span_id.
  if (enabled.has('pino') && logsExported(env)) chosen.push(new PinoInstrumentation({ disableLogCorrelation: true }));
  // As statementTelemetry.ts behaves: no root spans.
  if (enabled.has('pg')) chosen.push(new PgInstrumentation({ requireParentSpan: true }));
  return chosen;
}

/** The http instrumentation's client durations (node:http, which no client of oddswatch uses) would collide with the feeds' http.client.request.duration. */
const views: ViewOptions[] = [
  { instrumentName: 'http.client.request.duration', meterName: '@opentelemetry/instrumentation-http', aggregation: { type: AggregationType.DROP } },
  { instrumentName: 'http.client.duration', meterName: '@opentelemetry/instrumentation-http', aggregation: { type: AggregationType.DROP } },
];

/** OTEL_LOGS_EXPORTER names an exporter (otelDefaults sets `otlp` when an OTLP endpoint is configured). */
function logsExported(env: Record<string, string | undefined>): boolean {
  const exporters = (env.OTEL_LOGS_EXPORTER ?? '').split(',').map((name) => name.trim()).filter(Boolean);
  return exporters.length > 0 && !exporters.includes('none');
}

export function startTelemetry(env: Record<string, string | undefined>): void {
  if (sdk) return;
  const exporter = createPrometheusExporter();
  sdk = new NodeSDK({
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: env.OTEL_SERVICE_NAME ?? 'oddswatch',
      [ATTR_SERVICE_VERSION]: VERSION,
      'service.instance.id': instanceId,
    }),
    resourceDetectors: resourceDetectors(env),
    metricReaders: [exporter],
    // Without an exporter spans are still recorded, so runs, logs and responses get real trace ids, and the
    // last runs' spans are kept in memory for the dashboard's trace view. NodeSDK registers a tracer
    // provider only when it has at least one span processor: an empty list would leave every span
    // non-recording (trace id 0).
    ...(env.OTEL_TRACES_EXPORTER === 'none' ? { spanProcessors: [(recent = new RecentTraces())] } : {}),
    views,
    instrumentations: instrumentations(env),
  });
  sdk.start();
  pipeline = metricsPipelineFrom(exporter, metrics.getMeter('oddswatch'));
  // CPU, resident memory, file descriptors; the runtime-node instrumentation adds the event loop, heap and GC.
  observeProcess(pipeline.meter);
}

/** The SDK's metrics pipeline, or undefined when the process was started without register.ts. */
export function telemetryPipeline(): MetricsPipeline | undefined {
  return pipeline;
}

/** The resource's `service.instance.id` once telemetry started; undefined otherwise. */
export function telemetryInstanceId(): string | undefined {
  return sdk ? instanceId : undefined;
}

/** This process's last run traces, when it exports none (see recentTraces.ts); undefined otherwise. */
export function recentTraces(): RecentTraces | undefined {
  return recent;
}

/** Flushes spans and metrics. */
export async function stopTelemetry(): Promise<void> {
  await sdk?.shutdown();
  sdk = undefined;
}
