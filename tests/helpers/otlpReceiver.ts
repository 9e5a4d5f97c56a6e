import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A span as received over OTLP/HTTP JSON. */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: Record<string, unknown>;
  status: { code?: number; message?: string };
  events: { name: string }[];
  links: { traceId: string; spanId: string }[];
  resource: Record<string, unknown>;
}

/** A log record as received over OTLP/HTTP JSON (trace and span ids hex, empty when outside a span). */
export interface ReceivedLogRecord {
  traceId: string;
  spanId: string;
  severityText?: string;
  severityNumber?: number;
  body: unknown;
  attributes: Record<string, unknown>;
  resource: Record<string, unknown>;
}

interface AnyValue {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
}
const plain = (value: AnyValue | undefined) => value?.stringValue ?? (value?.intValue !== undefined ? Number(value.intValue) : undefined) ?? value?.doubleValue ?? value?.boolValue;
const attributesOf = (list: { key: string; value: AnyValue }[] = []) => Object.fromEntries(list.map((item) => [item.key, plain(item.value)]));

/** A tiny OTLP/HTTP (JSON) receiver on loopback, for tests: POST /v1/traces and /v1/logs. */
export async function startOtlpReceiver(): Promise<{ url: string; spans: ReceivedSpan[]; logs: ReceivedLogRecord[]; close(): Promise<void> }> {
  const spans: ReceivedSpan[] = [];
  const logs: ReceivedLogRecord[] = [];
  const server = http.createServer((request, response) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => (body += chunk));
    request.on('end', () => {
      if (request.url === '/v1/traces') {
        const payload = JSON.parse(body) as {
          resourceSpans: { resource: { attributes: { key: string; value: AnyValue }[] }; scopeSpans: { spans: Record<string, never>[] }[] }[];
        };
        for (const resourceSpan of payload.resourceSpans ?? []) {
          const resource = attributesOf(resourceSpan.resource?.attributes);
          for (const scope of resourceSpan.scopeSpans ?? []) {
            for (const span of scope.spans ?? []) {
              const raw = span as unknown as Record<string, unknown>;
              spans.push({
                traceId: String(raw.traceId),
                spanId: String(raw.spanId),
                parentSpanId: raw.parentSpanId ? String(raw.parentSpanId) : undefined,
                name: String(raw.name),
                kind: Number(raw.kind),
                attributes: attributesOf(raw.attributes as never),
                status: (raw.status ?? {}) as ReceivedSpan['status'],
                events: (raw.events ?? []) as ReceivedSpan['events'],
                links: (raw.links ?? []) as ReceivedSpan['links'],
                resource,
              });
            }
          }
        }
      }
      if (request.url === '/v1/logs') {
        const payload = JSON.parse(body) as {
          resourceLogs?: { resource?: { attributes: { key: string; value: AnyValue }[] }; scopeLogs?: { logRecords?: Record<string, unknown>[] }[] }[];
        };
        for (const resourceLog of payload.resourceLogs ?? []) {
          const resource = attributesOf(resourceLog.resource?.attributes);
          for (const scope of resourceLog.scopeLogs ?? []) {
            for (const record of scope.logRecords ?? []) {
              logs.push({
                traceId: String(record.traceId ?? ''),
                spanId: String(record.spanId ?? ''),
                severityText: record.severityText as string | undefined,
                severityNumber: record.severityNumber as number | undefined,
                body: plain(record.body as AnyValue | undefined),
                attributes: attributesOf(record.attributes as never),
                resource,
              });
            }
          }
        }
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    spans,
    logs,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
