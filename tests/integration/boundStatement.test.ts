import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { MikroORM } from '@mikro-orm/postgresql';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { boundRowCount, boundRows } from '../../src/db/boundStatement.js';
import { ormConfig } from '../../src/db/ormConfig.js';
import { operationName } from '../../src/db/statementTelemetry.js';
import { createTestDatabase, type TestDatabase } from '../helpers/testDatabase.js';

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
trace.setGlobalTracerProvider(provider);
const tracer = provider.getTracer('test');

let db: TestDatabase;
let orm: MikroORM;
beforeAll(async () => {
  db = await createTestDatabase();
  orm = await MikroORM.init(ormConfig(db.url, { logger: () => undefined }));
});
afterAll(async () => {
  await orm?.close(true);
  await db?.drop();
  await provider.shutdown();
});
beforeEach(() => exporter.reset());

describe('boundStatement', () => {
  it('binds parameters as values, not SQL: quotes, backslashes and question marks arrive intact', async () => {
    const hostile = `O'Brien \\ "x" ? $1 --`;
    const [row] = await boundRows<{ text: string; n: string; none: null }>(orm, 'select ?::text as text, ?::bigint as n, ?::text as none', [hostile, 42, null]);
    expect(row).toEqual({ text: hostile, n: '42', none: null });
    await boundRowCount(orm, 'create table t (v text)');
    expect(await boundRowCount(orm, 'insert into t (v) select unnest(?::text[])', ['{a,b,c}'])).toBe(3);
  });

  it('makes a CLIENT span per statement inside a span, with the template as its text and no parameter value', async () => {
    await tracer.startActiveSpan('parent', async (parent) => {
      await boundRows(orm, 'select ?::text as secret', ['s3cr3t-value']);
      parent.end();
    });
    const spans = exporter.getFinishedSpans();
    const statement = spans.find((span) => span.name.startsWith('pg.query'))!;
    expect(statement.name).toBe(`pg.query:SELECT ${db.name}`);
    expect(statement.kind).toBe(SpanKind.CLIENT);
    expect(statement.parentSpanContext?.spanId).toBe(spans.find((span) => span.name === 'parent')!.spanContext().spanId);
    expect(statement.attributes).toMatchObject({
      'db.system.name': 'postgresql',
      'db.namespace': db.name,
      'db.operation.name': 'SELECT',
      'db.query.text': 'select ?::text as secret',
      'server.address': new URL(db.url).hostname,
      'server.port': Number(new URL(db.url).port || 5432),
    });
    expect(spans.flatMap((span) => Object.values(span.attributes)).map(String).join('\n')).not.toContain('s3cr3t-value');
  });

  it('marks a failed statement with its SQLSTATE as error.type and rethrows the error', async () => {
    await tracer.startActiveSpan('parent', async (parent) => {
      await expect(boundRows(orm, 'select * from no_such_table')).rejects.toMatchObject({ code: '42P01' });
      parent.end();
    });
    const statement = exporter.getFinishedSpans().find((span) => span.name.startsWith('pg.query'))!;
    expect(statement.attributes['error.type']).toBe('42P01');
    expect(statement.status).toEqual({ code: SpanStatusCode.ERROR, message: 'PostgreSQL error 42P01' });
  });

  it('keeps the error text, which may echo a parameter value, out of the span', async () => {
    await tracer.startActiveSpan('parent', async (parent) => {
      await expect(boundRows(orm, 'select ?::int', ['s3cr3t-not-a-number'])).rejects.toThrow(/s3cr3t-not-a-number/);
      parent.end();
    });
    const statement = exporter.getFinishedSpans().find((span) => span.name.startsWith('pg.query'))!;
    expect(statement.attributes['error.type']).toBe('22P02');
    expect(statement.events.map((event) => event.attributes?.['exception.message'])).toEqual(['PostgreSQL error 22P02']);
    expect(JSON.stringify([statement.status, statement.events, statement.attributes])).not.toContain('s3cr3t');
  });

  it('makes no span for a statement outside any span (metrics scrapes, jobs between runs)', async () => {
    await boundRows(orm, 'select 1');
    expect(exporter.getFinishedSpans()).toEqual([]);
  });
});

describe('operationName', () => {
  it('is the first keyword, upper case, as the pg instrumentation named it', () => {
    expect(operationName('with lock as (select 1) select 2')).toBe('WITH');
    expect(operationName('\n   update runs set x = 1')).toBe('UPDATE');
    expect(operationName('(select 1)')).toBe('UNKNOWN');
  });
});
