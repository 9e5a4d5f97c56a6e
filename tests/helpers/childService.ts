import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from './waitFor.js';
import type { LogLine } from './testServer.js';

export const ROOT = path.resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
/** How `npm start` runs the built service (from ROOT). */
export const SERVICE_ARGS = ['--enable-source-maps', '--import', './dist/telemetry/register.js', 'dist/main.js'];

export interface ChildService {
  process: ChildProcess;
  url: string;
  logs: LogLine[];
  stderr: string[];
  /** Resolves with the exit code (or signal) when the process ends. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * The built service (dist/) as a real child process, exactly as `npm start` runs it. `nodeArgs` replaces
 * the node arguments (the benchmark starts it without the telemetry `--import`, or with `--cpu-prof`).
 */
export async function spawnService(env: Record<string, string>, { timeoutMs = 60_000, nodeArgs = SERVICE_ARGS }: { timeoutMs?: number; nodeArgs?: readonly string[] } = {}): Promise<ChildService> {
  const child = spawn(process.execPath, nodeArgs, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', SCHEDULER_ENABLED: 'false', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: LogLine[] = [];
  const stderr: string[] = [];
  let buffered = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.trim()) continue;
      try {
        logs.push(JSON.parse(line) as LogLine);
      } catch {
        stderr.push(line);
      }
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => stderr.push(chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  let dead = false;
  void exited.then(() => (dead = true));
  const listening = await waitFor(() => {
    if (dead) throw new Error(`service exited early: ${stderr.join('')} ${JSON.stringify(logs.slice(-3))}`);
    return logs.find((line) => line.msg === 'oddswatch listening');
  }, { timeoutMs, what: 'the service to listen' }).catch((error: unknown) => {
    child.kill('SIGKILL');
    throw error;
  });
  return {
    process: child,
    url: String(listening.url),
    logs,
    stderr,
    exited,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (!dead) child.kill(signal);
      return exited;
    },
  };
}
