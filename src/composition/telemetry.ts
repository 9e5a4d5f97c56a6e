import type { Platforms } from '../platforms/registry.js';
import { createReplicaMetrics, type ReplicaMetrics } from '../replicas/replicaMetrics.js';
import { createMetrics, type Metrics } from '../telemetry/metrics.js';
import { createLocalMetricsPipeline, type MetricsPipeline } from '../telemetry/prometheus.js';
import type { CleanupStack } from './cleanupStack.js';

export interface ServiceMetrics {
  pipeline: MetricsPipeline;
  metrics: Metrics;
  replicaMetrics: ReplicaMetrics;
}

/** The service's instruments on the SDK's Prometheus pipeline (main.ts), or on a private one (tests), shut down with the server. */
export function createServiceMetrics(sdkPipeline: MetricsPipeline | undefined, platforms: Platforms, cleanups: CleanupStack): ServiceMetrics {
  const pipeline = sdkPipeline ?? createLocalMetricsPipeline();
  if (!sdkPipeline) cleanups.push(() => pipeline.shutdown());
  const metrics = createMetrics(pipeline.meter, platforms.names);
  platforms.browsers.attach(metrics);
  return { pipeline, metrics, replicaMetrics: createReplicaMetrics(pipeline.meter) };
}
