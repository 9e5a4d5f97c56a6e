import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';

export interface CapturedSpans {
  /** Every span ended since the start or the last `exporter.reset()`. */
  exporter: InMemorySpanExporter;
  provider: BasicTracerProvider;
}

/**
 * Registers a global tracer provider that keeps each ended span in memory, with async context propagation.
 * Call it before the service modules load (import testServer.js dynamically after it), as the service's
 * register hook does; shut the provider down in afterAll.
 */
export function captureSpans(): CapturedSpans {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(provider);
  return { exporter, provider };
}
