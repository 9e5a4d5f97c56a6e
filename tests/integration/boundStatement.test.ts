import { metrics, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { MikroORM } from '@mikro-orm/postgresql';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { boundRowCount, boundRows } from '../../src/db/boundStatement.js';
import { ormConfig } from '../../src/db/ormConfig.js';
import { describeStatement } from '../../src/db/querySummary.js';
import { createPrometheusExporter, metricsPipelineFrom } from '../../src/telemetry/prometheus.js';
import { createTestDatabase, type TestDatabase } from '../helpers/testDatabase.js';
import { captureSpans } from '../helpers/spans.js';

const { exporter, provider } = captureSpans();
const tracer = provider.getTracer('test');
// The statement durations go to the global meter provider, exposed as /metrics exposes them.
const metricsExporter = createPrometheusExporter();
const meterProvider = new MeterProvider({ readers: [metricsExporter] });
metrics.setGlobalMeterProvider(meterProvider);
const exposition = metricsPipelineFrom(metricsExporter, meterProvider.getMeter('test'));

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
  await meterProvider.shutdown();
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
      'db.query.summary': 'SELECT',
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

describe('the statement duration metric', () => {
  it('is in seconds, labelled with what the statement does and where, never the server port', async () => {
    await tracer.startActiveSpan('parent', async (parent) => {
      await boundRowCount(orm, 'create table if not exists t (v text)');
      await boundRowCount(orm, 'with fresh as (insert into t (v) values (?) returning v) update t set v = ? where v in (select v from fresh)', ['a', 'b']);
      parent.end();
    });
    const text = await exposition.render();
    const port = Number(new URL(db.url).port || 5432);
    const series = text.split('\n').filter((line) => line.startsWith('db_client_operation_duration_seconds_count'));
    expect(series.length).toBeGreaterThan(0);
    for (const line of series) expect(line).not.toMatch(/server_port|WITH/);
    expect(text).not.toContain(`"${port}"`);
    const labels = `db_system_name="postgresql",db_namespace="${db.name}",server_address="${new URL(db.url).hostname}"`;
    expect(series).toContain(`db_client_operation_duration_seconds_count{${labels},db_operation_name="INSERT",db_query_summary="INSERT t UPDATE t"} 1`);
    expect(text).toMatch(/^# UNIT db_client_operation_duration_seconds seconds$/m);
  });
});

describe('describeStatement', () => {
  it('names what a statement does: each part as operation and table, CTEs first, reads of no table left out', () => {
    expect(describeStatement('select 1')).toEqual({ operation: 'SELECT', summary: 'SELECT' });
    expect(describeStatement('\n   update runs set x = 1')).toEqual({ operation: 'UPDATE', summary: 'UPDATE runs' });
    expect(describeStatement('(select 1)')).toEqual({ operation: 'SELECT', summary: 'SELECT' });
    expect(describeStatement('with lock as (select pg_advisory_xact_lock(?)) select 2')).toEqual({ operation: 'SELECT', summary: 'SELECT' });
    expect(describeStatement('select r.id from public.runs r left join platform_steps s on s.run_id = r.id')).toEqual({ operation: 'SELECT', summary: 'SELECT runs' });
    expect(describeStatement(`delete from odds where scraped_at < now() - make_interval(days => ?)`)).toEqual({ operation: 'DELETE', summary: 'DELETE odds' });
    expect(
      describeStatement(`with won as (
         update runs set status = ?, finished_at = now() where id = ? returning id
       ), steps as (
         update platform_steps set duration_ms = (extract(epoch from now() - started_at) * 1000)::int
         where run_id in (select id from won) and status in ('pending', 'running')
       )
       select count(*)::int as won from won`),
    ).toEqual({ operation: 'UPDATE', summary: 'UPDATE runs UPDATE platform_steps' });
    expect(
      describeStatement(`with run as (insert into runs (status) values ('pending') returning id),
        steps as (insert into platform_steps (run_id, platform) select run.id, unnest(?::text[]) from run)
        select id from run`),
    ).toEqual({ operation: 'INSERT', summary: 'INSERT runs INSERT platform_steps' });
  });

  it('keeps literals, comments, parameters and columns out: a bounded label', () => {
    expect(describeStatement(`-- from secrets\n select 'from odds' as x, $$ from y $$, ? from sporting_events where name = 'x'`)).toEqual({ operation: 'SELECT', summary: 'SELECT sporting_events' });
    expect(describeStatement(`select * from unnest(?::text[]) as u(v)`).summary).toBe('SELECT');
    expect(describeStatement(`insert into "Odd Name" (v) values (?)`).summary).toBe('INSERT');
    expect(describeStatement(`with ${Array.from({ length: 60 }, (_, index) => `c${index} as (update runs set x = ${index})`).join(', ')} select 1`).summary.length).toBeLessThanOrEqual(255);
  });
});
