/**
 * What a bench ran under, printed beside its table so that two runs can be compared: the machine (cores,
 * model, load before and during), Node, and the service build it measured (rebuilt for this run or not,
 * the commit it was built from, whether the tree was dirty).
 */
import { execFileSync, execSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import path from 'node:path';
import { median } from './support.js';

interface BuildInfo {
  builtAt: string;
  commit: string | null;
  dirty: boolean | null;
}

export interface ServiceBuild {
  /** True when dist/ was missing or older than its sources, and built by this run. */
  rebuilt: boolean;
  /** What scripts/build-if-stale.mjs recorded when it built dist/; null when dist/ was built some other way since. */
  info: BuildInfo | null;
}

/** Builds dist/ when it is stale (scripts/build-if-stale.mjs) and tells whether it did and from what. */
export function buildServiceIfStale(root: string): ServiceBuild {
  const output = execFileSync(process.execPath, ['scripts/build-if-stale.mjs', '--service-only'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  process.stdout.write(output);
  const infoFile = path.join(root, 'dist/build-info.json');
  let info: BuildInfo | null = existsSync(infoFile) ? (JSON.parse(readFileSync(infoFile, 'utf8')) as BuildInfo) : null;
  // A later `npm run build:server` rewrites dist/ without the record: the record no longer describes it.
  if (info && statSync(path.join(root, 'dist/main.js')).mtimeMs > Date.parse(info.builtAt)) info = null;
  return { rebuilt: output.includes('building the service'), info };
}

/** The 1-minute load average, sampled every `everyMs` while the bench measures. */
export function sampleLoad(everyMs = 2_000): { stop(): number[] } {
  const samples = [loadavg()[0]!];
  const timer = setInterval(() => samples.push(loadavg()[0]!), everyMs);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      samples.push(loadavg()[0]!);
      return samples;
    },
  };
}

function git(root: string, args: string): string | null {
  try {
    return execSync(`git ${args}`, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

/** The lines printed beside a bench's table. */
export function describeEnvironment(root: string, build: ServiceBuild, loadBefore: readonly number[], loadDuring: readonly number[]): string[] {
  const cores = cpus();
  const head = git(root, 'rev-parse HEAD');
  const headDirty = git(root, 'status --porcelain -- src tsconfig.build.json package.json');
  const dirty = (flag: boolean | null) => (flag === null ? 'dirty unknown' : flag ? 'dirty' : 'clean');
  const built = build.info
    ? `${build.rebuilt ? 'rebuilt for this run' : `up to date, built ${build.info.builtAt}`} from ${build.info.commit ?? 'an unknown commit'} (${dirty(build.info.dirty)})`
    : `${build.rebuilt ? 'rebuilt for this run' : 'up to date'}, commit unknown (dist/ built outside scripts/build-if-stale.mjs)`;
  const load = (values: readonly number[]) => values.map((value) => value.toFixed(2)).join(' / ');
  return [
    `machine: ${cores.length} cores, ${cores[0]?.model ?? 'unknown model'}; Node ${process.version}`,
    `load average before (1 / 5 / 15 min): ${load(loadBefore)}`,
    `load average during (1 min, ${loadDuring.length} samples): min ${Math.min(...loadDuring).toFixed(2)}, median ${median([...loadDuring]).toFixed(2)}, max ${Math.max(...loadDuring).toFixed(2)}`,
    `service build (dist/): ${built}; checkout now ${head ?? 'unknown'} (${dirty(headDirty === null ? null : headDirty !== '')})`,
  ];
}
