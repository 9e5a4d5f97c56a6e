import type { Meter } from '@opentelemetry/api';

export interface EdgeMetrics {
  unknownHost(): void;
}

/** `oddswatch_http_unknown_host_total`: requests refused with 421 for a Host the service is not reached by (DNS rebinding). */
export function createEdgeMetrics(meter: Meter): EdgeMetrics {
  const unknownHosts = meter.createCounter('oddswatch_http_unknown_host', { description: 'Requests refused with 421 because their Host is not a name the service is reached by (ALLOWED_HOSTS).' });
  unknownHosts.add(0);
  return { unknownHost: () => unknownHosts.add(1) };
}
