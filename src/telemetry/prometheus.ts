import type { Meter } from '@opentelemetry/api';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';

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
      return serializer.serialize(resourceMetrics);
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
