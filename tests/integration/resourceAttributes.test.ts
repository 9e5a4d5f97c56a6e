import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SERVICE_ARGS, spawnService, type ChildService } from '../helpers/childService.js';
import { startOtlpReceiver } from '../helpers/otlpReceiver.js';
import { createTestDatabase, type TestDatabase } from '../helpers/testDatabase.js';
import { waitFor } from '../helpers/waitFor.js';

/**
 * The OpenTelemetry resource (target_info on /metrics, the resource of every exported span) names the
 * service, never the process's command line: a secret passed as an argument must not be published.
 */
const SECRET = 'sk-live-5f1e9c0d7a3b-never-export-me';
let db: TestDatabase;
let receiver: Awaited<ReturnType<typeof startOtlpReceiver>>;
let service: ChildService;

beforeAll(async () => {
  db = await createTestDatabase();
  receiver = await startOtlpReceiver();
  service = await spawnService(
    { DATABASE_URL: db.url, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_BSP_SCHEDULE_DELAY: '200' },
    { nodeArgs: [...SERVICE_ARGS, `--feed-api-key=${SECRET}`] },
  );
}, 120_000);
afterAll(async () => {
  await service?.stop('SIGTERM');
  await receiver?.close();
  await db?.drop();
});

const HIDDEN = ['process.command_args', 'process.command', 'process.command_line', 'process.executable.path', 'process.owner'];

describe('exported resource', () => {
  it('/metrics target_info names the service and runtime, not the command line, executable path or owner', async () => {
    const text = await (await fetch(`${service.url}/metrics`)).text();
    const targetInfo = text.split('\n').find((line) => line.startsWith('target_info{')) ?? '';
    expect(targetInfo).toContain('service_name="oddswatch"');
    // The replica's id (owner_id in its logs, `replica` on the steps it scrapes) is its service.instance.id.
    const ownerId = String(service.logs.find((line) => line.msg === 'oddswatch listening')!.owner_id);
    expect(targetInfo).toContain(`service_instance_id="${ownerId}"`);
    expect(targetInfo).toContain('process_runtime_name="nodejs"');
    expect(text).not.toContain(SECRET);
    for (const attribute of HIDDEN) expect(text).not.toContain(`${attribute.replaceAll('.', '_')}=`);
    expect(text).not.toContain(process.execPath);
  });

  it('exported spans carry the same resource', async () => {
    expect((await fetch(`${service.url}/api/runs`)).status).toBe(200);
    const span = await waitFor(() => receiver.spans.find((candidate) => candidate.resource['service.name'] === 'oddswatch'), { timeoutMs: 15_000, what: 'a span over OTLP' });
    for (const attribute of HIDDEN) expect(span.resource, attribute).not.toHaveProperty([attribute]);
    expect(span.resource['process.runtime.name']).toBe('nodejs');
    expect(span.resource['service.instance.id']).toBe(service.logs.find((line) => line.msg === 'oddswatch listening')!.owner_id);
    expect(JSON.stringify(receiver.spans)).not.toContain(SECRET);
  });
});
