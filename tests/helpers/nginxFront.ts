import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freeLoopbackPort } from '../../src/net.js';
import { waitFor } from './waitFor.js';

export interface NginxFront {
  url: string;
  stop(): Promise<void>;
}

/**
 * The shipped deploy/nginx/oddswatch.conf with only its upstream servers and listen port templated (and the
 * read timeout, when a test must see an idle stream outlive it).
 */
export function templatedConf(upstreams: string[], listen: number, readTimeoutSeconds?: number): string {
  const shipped = readFileSync(path.resolve('deploy/nginx/oddswatch.conf'), 'utf8');
  const servers = upstreams.map((hostPort) => `    server ${hostPort} max_fails=1 fail_timeout=5s;`).join('\n');
  const out = shipped
    .replace(/# replicas:begin[\s\S]*# replicas:end/, `# replicas:begin\n${servers}\n    # replicas:end`)
    .replace(/listen \d+;/, `listen 127.0.0.1:${listen};`)
    .replace(/proxy_read_timeout \d+s;/, (shippedTimeout) => (readTimeoutSeconds === undefined ? shippedTimeout : `proxy_read_timeout ${readTimeoutSeconds}s;`));
  if (out === shipped || out.includes('app-1:3000')) throw new Error('deploy/nginx/oddswatch.conf: the replicas or listen markers moved');
  return out;
}

const NGINX = '/usr/sbin/nginx';

/** Debian's nginx (no daemon, a private prefix) in front of `upstreams` ("127.0.0.1:port"). */
export async function startNginx(upstreams: string[], options: { readTimeoutSeconds?: number } = {}): Promise<NginxFront> {
  if (!existsSync(NGINX)) throw new Error(`${NGINX} is missing: these tests put Debian's nginx package in front of the service`);
  const dir = mkdtempSync(path.join(tmpdir(), 'oddswatch-nginx-'));
  chmodSync(dir, 0o755);
  const temps = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'];
  for (const temp of temps) {
    mkdirSync(path.join(dir, temp));
    chmodSync(path.join(dir, temp), 0o777); // workers run as nobody when the tests run as root
  }
  const port = await freeLoopbackPort();
  writeFileSync(path.join(dir, 'oddswatch.conf'), templatedConf(upstreams, port, options.readTimeoutSeconds));
  const tempPaths = temps.map((t) => `${t}_temp_path ${dir}/${t};`).join(' ');
  writeFileSync(
    path.join(dir, 'nginx.conf'),
    `worker_processes 1;\nerror_log ${dir}/error.log warn;\nevents { worker_connections 256; }\nhttp { access_log off; ${tempPaths} include ${dir}/oddswatch.conf; }\n`,
  );
  const nginx: ChildProcess = spawn(NGINX, ['-p', dir, '-e', `${dir}/error.log`, '-c', `${dir}/nginx.conf`, '-g', `daemon off; pid ${dir}/nginx.pid;`], { stdio: 'ignore' });
  const exited = new Promise((resolve) => nginx.once('exit', resolve));
  const stop = async () => {
    if (nginx.exitCode === null && nginx.signalCode === null) {
      nginx.kill('SIGQUIT');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(
      () =>
        new Promise<boolean>((resolve) => {
          http
            .get({ host: '127.0.0.1', port, path: '/healthz', agent: false }, (res) => {
              res.resume();
              resolve(res.statusCode === 200);
            })
            .on('error', () => resolve(false));
        }),
      { what: `nginx on ${port} (${dir}/error.log)` },
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return { url: `http://127.0.0.1:${port}`, stop };
}
