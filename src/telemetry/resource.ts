import { envDetector, hostDetector, osDetector, processDetector, serviceInstanceIdDetector, type ResourceDetector } from '@opentelemetry/resources';

/**
 * Resource attributes never exported (target_info on /metrics, the resource of every span and log batch):
 * the process's command line, executable and owner. A secret passed as an argument would otherwise be
 * published with every scrape. Its pid and runtime name and version stay.
 */
export const HIDDEN_RESOURCE_ATTRIBUTES: ReadonlySet<string> = new Set([
  'process.command',
  'process.command_args',
  'process.command_line',
  'process.executable.name',
  'process.executable.path',
  'process.owner',
]);

/** OTEL_NODE_RESOURCE_DETECTORS' names, as NodeSDK reads them. */
const DETECTORS: Readonly<Record<string, ResourceDetector>> = {
  env: envDetector,
  host: hostDetector,
  os: osDetector,
  process: processDetector,
  serviceinstance: serviceInstanceIdDetector,
};
/** NodeSDK's own choice when OTEL_NODE_RESOURCE_DETECTORS is unset. */
const DEFAULT_DETECTORS = ['env', 'process', 'host'];

function withoutHidden(detector: ResourceDetector): ResourceDetector {
  return {
    detect(config) {
      const { attributes, ...rest } = detector.detect(config);
      return { ...rest, attributes: attributes && Object.fromEntries(Object.entries(attributes).filter(([key]) => !HIDDEN_RESOURCE_ATTRIBUTES.has(key))) };
    },
  };
}

/** The detectors NodeSDK would pick (OTEL_NODE_RESOURCE_DETECTORS: all, none or a list), each without the hidden attributes. */
export function resourceDetectors(env: Record<string, string | undefined>): ResourceDetector[] {
  const named = (env.OTEL_NODE_RESOURCE_DETECTORS ?? '').split(',').map((name) => name.trim()).filter(Boolean);
  const names = named.length === 0 ? DEFAULT_DETECTORS : named.includes('all') ? Object.keys(DETECTORS) : named.includes('none') ? [] : named;
  return names.flatMap((name) => (DETECTORS[name] ? [withoutHidden(DETECTORS[name])] : []));
}
