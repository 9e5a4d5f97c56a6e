import { isSpanContextValid, trace } from '@opentelemetry/api';
import pino, { type DestinationStream, type Logger } from 'pino';

export type { Logger };

/** pino JSON lines; every line written inside a span carries its trace_id and span_id. */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'oddswatch', pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: {
        paths: ['authorization', 'headers.authorization', 'req.headers.authorization', 'config.operatorToken', 'databaseUrl'],
        censor: '[redacted]',
      },
      mixin() {
        const span = trace.getActiveSpan();
        const context = span?.spanContext();
        if (!context || !isSpanContextValid(context)) return {};
        return { trace_id: context.traceId, span_id: context.spanId };
      },
    },
    destination,
  );
}
