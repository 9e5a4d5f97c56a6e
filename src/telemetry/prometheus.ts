import type { Meter } from '@opentelemetry/api';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { DataPointType, MeterProvider, type MetricData, type ResourceMetrics } from '@opentelemetry/sdk-metrics';

/** A meter whose instruments /metrics exposes in Prometheus text format. */
export interface MetricsPipeline {
  meter: Meter;
  exporter: PrometheusExporter;
  /** The Prometheus exposition of everything the exporter's provider collects. */
  render(): Promise<string>;
  shutdown(): Promise<void>;
}

/** The exporter never opens its own port: the service serves /metrics (and METRICS_PORT if set). */
export function createPrometheusExporter(): PrometheusExporter {
  return new PrometheusExporter({ preventServerStart: true, withoutScopeInfo: true });
}

export function metricsPipelineFrom(exporter: PrometheusExporter, meter: Meter, shutdown: () => Promise<void> = async () => {}): MetricsPipeline {
  const serializer = new PrometheusSerializer(undefined, false, undefined, false, true);
  return {
    meter,
    exporter,
    async render() {
      const { resourceMetrics, errors } = await exporter.collect();
      if (errors.length) throw new AggregateError(errors, 'metric collection failed');
      return serializer.serialize(withUnitSuffixes(resourceMetrics));
    },
    shutdown,
  };
}

/** A private pipeline for a service started without the SDK (tests, embedded use). */
export function createLocalMetricsPipeline(): MetricsPipeline {
  const exporter = createPrometheusExporter();
  const provider = new MeterProvider({ readers: [exporter] });
  return metricsPipelineFrom(exporter, provider.getMeter('oddswatch'), () => provider.shutdown());
}

/**
 * OpenTelemetry units (UCUM) as Prometheus spells them in a name. Annotations (`{request}`,
 * `{file_descriptor}`) are not units and add nothing.
 */
const PROMETHEUS_UNITS: Record<string, string> = {
  s: 'seconds',
  ms: 'milliseconds',
  us: 'microseconds',
  ns: 'nanoseconds',
  By: 'bytes',
  KiBy: 'kibibytes',
  MiBy: 'mebibytes',
  '%': 'percent',
};

/**
 * One naming rule for every metric /metrics exposes, whoever made the instrument (oddswatch, the HTTP and
 * runtime instrumentations, the statement and feed telemetry): the name ends in its unit, as OpenTelemetry's
 * Prometheus compatibility rules and Prometheus's own conventions have it, and the `# UNIT` line says the
 * same word. `s` -> `_seconds` (`http_server_request_duration_seconds`), `By` -> `_bytes`, a gauge of unit
 * `1` -> `_ratio`; a counter's `_total` comes after (`process_cpu_time_seconds_total`). A name that already
 * ends in its unit (`oddswatch_run_duration_seconds`) is left alone. The exporter itself appends no unit
 * (0.223): without this, the SDK's instruments came out as `http_server_request_duration` in seconds beside
 * `oddswatch_run_duration_seconds`.
 */
export function withUnitSuffixes(resourceMetrics: ResourceMetrics): ResourceMetrics {
  return {
    ...resourceMetrics,
    scopeMetrics: resourceMetrics.scopeMetrics.map((scope) => ({ ...scope, metrics: scope.metrics.map(withUnitSuffix) })),
  };
}

function withUnitSuffix(metric: MetricData): MetricData {
  const { name, unit } = metric.descriptor;
  if (!unit) return metric;
  const gauge = metric.dataPointType === DataPointType.GAUGE || (metric.dataPointType === DataPointType.SUM && !metric.isMonotonic);
  // `1` is a ratio on a gauge and nothing on a count; an annotation is no unit: no suffix and no # UNIT line.
  const word = unit === '1' ? (gauge ? 'ratio' : '') : unit.startsWith('{') ? '' : PROMETHEUS_UNITS[unit];
  if (word === undefined) return metric; // a unit without a Prometheus word: as the exporter writes it
  const named = !word || name.replace(/[^a-zA-Z0-9_:]/g, '_').endsWith(`_${word}`) ? name : `${name}_${word}`;
  return { ...metric, descriptor: { ...metric.descriptor, name: named, unit: word } };
}
