import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

/** The repository root, whatever the working directory of the test run. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export const repoPath = (...parts: string[]): string => join(ROOT, ...parts);

export function readYaml<T = unknown>(relativePath: string): T {
  return parse(readFileSync(repoPath(relativePath), 'utf8')) as T;
}

/** Files directly in a repository directory whose names end with `suffix`, as repo-relative paths. */
export function filesEndingWith(relativeDir: string, suffix: string): string[] {
  return readdirSync(repoPath(relativeDir))
    .filter((name) => name.endsWith(suffix))
    .sort()
    .map((name) => `${relativeDir}/${name}`);
}

export interface RunResult {
  code: number;
  output: string;
}

/**
 * Runs a real binary and returns its exit code with stdout and stderr together, so a failing
 * assertion can show exactly what the tool said. A missing binary is reported as such.
 */
export function run(command: string, args: string[], options: { cwd?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    execFile(
      command,
      args,
      { cwd: options.cwd ?? ROOT, timeout: options.timeoutMs ?? 60_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const output = `${stdout}${stderr}`;
        if (error && (error as NodeJS.ErrnoException).code === 'ENOENT') {
          reject(new Error(`${command} is not installed (on Debian: apt-get install -y ${debianPackageOf(command)})`));
          return;
        }
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolvePromise({ code, output });
      },
    );
  });
}

function debianPackageOf(command: string): string {
  if (command.endsWith('promtool') || command.endsWith('prometheus')) return 'prometheus';
  return command;
}
