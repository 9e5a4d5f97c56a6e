import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ROOT, SERVICE_ARGS } from '../helpers/childService.js';

/** Runs the built service with `env` and returns how it exited and what it printed on stderr. */
function startWith(env: Record<string, string>): Promise<{ code: number | null; stderr: string; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, SERVICE_ARGS, {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    let stdout = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.on('exit', (code) => resolve({ code, stderr, stdout }));
  });
}

describe('start-up with a bad configuration', () => {
  it.each([
    [{ PORT: 'eighty' }, 'PORT: expected an integer from 0 to 65535'],
    [{ DATABASE_URL: 'mysql://localhost/odds' }, 'DATABASE_URL: expected a postgres:// or postgresql:// URL'],
    [{ CONNECTION_GRACE_MS: '-5' }, 'CONNECTION_GRACE_MS: expected an integer'],
    [{ HEARTBEAT_INTERVAL_MS: '5000', STALE_AFTER_MS: '8000' }, 'STALE_AFTER_MS: must be more than twice HEARTBEAT_INTERVAL_MS'],
  ])('stops with exit code 78 and one line naming the variable (%j)', async (env, message) => {
    const { code, stderr } = await startWith(env);
    expect(code).toBe(78);
    expect(stderr).toContain(message);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('names the file when PLATFORMS_FILE is unreadable, before touching any database, and exits 1', async () => {
    const { code, stdout } = await startWith({ PLATFORMS_FILE: '/nonexistent/platforms.json', DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none' });
    expect(code).toBe(1);
    const fatal = JSON.parse(stdout.trim().split('\n').at(-1)!) as { level: string; msg: string; err: { message: string } };
    expect(fatal).toMatchObject({ level: 'fatal', msg: 'oddswatch could not start' });
    expect(fatal.err.message).toContain('PLATFORMS_FILE /nonexistent/platforms.json');
  });
});
