import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freeLoopbackPort } from '../../src/net.js';

const run = promisify(execFile);

/**
 * A PostgreSQL cluster of its own for tests that stop, restart or kill the server (never the shared
 * one). initdb/pg_ctl run as the `postgres` user when the tests run as root (they refuse root). The
 * cluster lives in a temp dir (mode 755) on a free loopback port, trust auth, fsync off. Always call
 * `destroy()` in afterAll; an exit hook also stops it if the test process ends without afterAll.
 */
export interface ThrowawayPostgres {
  /** postgres://postgres@127.0.0.1:<port>/postgres */
  url: string;
  port: number;
  dir: string;
  start(): Promise<void>;
  /** fast: disconnect clients and shut down cleanly; immediate: like a crash (no shutdown checkpoint). */
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  restart(mode?: 'fast' | 'immediate'): Promise<void>;
  /** The server log so far (for failure messages). */
  log(): string;
  destroy(): Promise<void>;
}

const isRoot = process.getuid?.() === 0;

function asPostgres(command: string, args: string[]): [string, string[]] {
  return isRoot ? ['runuser', ['-u', 'postgres', '--', command, ...args]] : [command, args];
}

async function pgTool(command: string, args: string[], timeoutMs = 60_000): Promise<void> {
  const [file, argv] = asPostgres(command, args);
  await run(file, argv, { timeout: timeoutMs });
}

export async function startThrowawayPostgres(): Promise<ThrowawayPostgres> {
  const dir = mkdtempSync(path.join(tmpdir(), 'oddswatch-throwaway-pg-'));
  chmodSync(dir, 0o755);
  if (isRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    chownSync(dir, uid, gid);
  }
  const data = path.join(dir, 'data');
  const logFile = path.join(dir, 'server.log');
  let port = 0;
  let running = false;

  const stopSync = () => {
    if (!running) return;
    try {
      const [file, argv] = asPostgres('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
      execFileSync(file, argv, { stdio: 'ignore', timeout: 30_000 });
    } catch {
      // already gone
    }
    running = false;
  };
  process.once('exit', stopSync);

  const cluster: ThrowawayPostgres = {
    get url() {
      return `postgres://postgres@127.0.0.1:${port}/postgres`;
    },
    get port() {
      return port;
    },
    dir,
    async start() {
      const options = `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${dir} -c fsync=off -c max_connections=50`;
      await pgTool('pg_ctl', ['-D', data, '-l', logFile, '-o', options, '-w', '-t', '60', 'start']);
      running = true;
    },
    async stop(mode = 'fast') {
      await pgTool('pg_ctl', ['-D', data, '-m', mode, '-w', '-t', '60', 'stop']);
      running = false;
    },
    async restart(mode = 'fast') {
      await cluster.stop(mode);
      await cluster.start();
    },
    log() {
      try {
        return readFileSync(logFile, 'utf8');
      } catch {
        return '';
      }
    },
    async destroy() {
      process.off('exit', stopSync);
      if (running) await cluster.stop('immediate').catch(() => stopSync());
      rmSync(dir, { recursive: true, force: true });
    },
  };

  try {
    await pgTool('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync', '--no-instructions']);
    // A free port can be taken between the probe and the start: try a few.
    for (let attempt = 1; ; attempt++) {
      port = await freeLoopbackPort();
      try {
        await cluster.start();
        break;
      } catch (error) {
        if (attempt >= 3) throw new Error(`throwaway PostgreSQL did not start: ${(error as Error).message}\n${cluster.log()}`, { cause: error });
      }
    }
  } catch (error) {
    await cluster.destroy();
    throw error;
  }
  return cluster;
}
