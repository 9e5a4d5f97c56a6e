import { SpanKind, SpanStatusCode, trace, type Attributes } from '@opentelemetry/api';
import { lazyDurationHistogram } from '../telemetry/lazyDurationHistogram.js';
import { tracer } from '../telemetry/tracing.js';
import { pgErrorCode } from './pgErrors.js';
import { describeStatement } from './querySummary.js';

/** The pg instrumentation's buckets for db.client.operation.duration, in seconds. */
const BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10];
const recordDuration = lazyDurationHistogram('db.client.operation.duration', 'Duration of database client operations.', BUCKETS);

/** Where statements go, as the semantic conventions name it; read once per database URL. */
export interface DatabaseTarget {
  'db.system.name': 'postgresql';
  'db.namespace': string;
  'server.address': string;
  'server.port': number;
}

export function databaseTarget(url: string): DatabaseTarget {
  const parsed = new URL(url);
  return {
    'db.system.name': 'postgresql',
    'db.namespace': decodeURIComponent(parsed.pathname.slice(1)),
    'server.address': parsed.hostname,
    'server.port': Number(parsed.port || 5432),
  };
}

export interface StatementTelemetry {
  failed(error: unknown): void;
  end(): void;
}

const NOTHING: StatementTelemetry = { failed() {}, end() {} };

/**
 * One statement as a CLIENT span and a `db.client.operation.duration` record (`db_client_operation_duration_seconds`),
 * made here instead of by the pg instrumentation: every statement of the service goes through boundStatement,
 * and the instrumentation's patching (an object spread, a bound callback, two wrapping promises per query) was
 * the largest part of the telemetry overhead left (bench:telemetry, 600 runs per arm: 1.046x with it, 1.017x
 * without any SQL span). `db.query.text` is the statement's template; parameters never reach the span.
 * Like the instrumentation with requireParentSpan, a statement outside any span (metrics scrape,
 * scheduler jobs between runs) makes no span and no record. The duration includes waiting for a pooled
 * connection: what the statement cost its caller.
 *
 * Unlike the instrumentation, the operation is what the statement does, not its first keyword (`WITH` for
 * most statements of the run engine): `db.operation.name` (`UPDATE`) and `db.query.summary` (`UPDATE runs
 * UPDATE platform_steps`, querySummary.ts), on the span and the metric; the span is named
 * `pg.query:<OPERATION> <database>` as before. The metric's labels are only those that stay put for the
 * life of the database: not `server.port`, which for the embedded PostgreSQL is a free port picked at each
 * start (a new series per restart); the span keeps it.
 */
export function startStatement(target: DatabaseTarget, sql: string): StatementTelemetry {
  if (trace.getActiveSpan() === undefined) return NOTHING;
  const started = performance.now();
  const { operation, summary } = describeStatement(sql);
  const metricAttributes: Attributes = {
    'db.system.name': target['db.system.name'],
    'db.namespace': target['db.namespace'],
    'server.address': target['server.address'],
    'db.operation.name': operation,
    'db.query.summary': summary,
  };
  const span = tracer.startSpan(`pg.query:${operation} ${target['db.namespace']}`, {
    kind: SpanKind.CLIENT,
    attributes: { ...metricAttributes, 'server.port': target['server.port'], 'db.query.text': sql },
  });
  let errorType: string | undefined;
  return {
    failed(error) {
      errorType = pgErrorCode(error) ?? (error instanceof Error ? error.name : 'Error');
      span.setAttribute('error.type', errorType);
      // Not the error's text: PostgreSQL echoes parameter values in some (`invalid input syntax for type integer: "..."`).
      const message = `PostgreSQL error ${errorType}`;
      span.recordException({ name: error instanceof Error ? error.name : 'Error', message });
      span.setStatus({ code: SpanStatusCode.ERROR, message });
    },
    end() {
      span.end();
      recordDuration((performance.now() - started) / 1000, errorType ? { ...metricAttributes, 'error.type': errorType } : metricAttributes);
    },
  };
}
