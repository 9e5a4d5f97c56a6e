import { metrics, type Attributes, type Histogram } from '@opentelemetry/api';

/**
 * A duration histogram in seconds of the `oddswatch` meter, created on first record: from the meter provider
 * the SDK registers (started by register.ts), not the no-op one a module would get at import time.
 */
export function lazyDurationHistogram(name: string, description: string, buckets: number[]): (seconds: number, attributes: Attributes) => void {
  let histogram: Histogram | undefined;
  return (seconds, attributes) => {
    histogram ??= metrics.getMeter('oddswatch').createHistogram(name, { unit: 's', description, advice: { explicitBucketBoundaries: buckets } });
    histogram.record(seconds, attributes);
  };
}
