import { readFileSync } from 'node:fs';

/** A V8 .cpuprofile (written by `node --cpu-prof`). */
interface CpuProfile {
  /** Microseconds on the monotonic clock (the one process.hrtime reads, shared by processes). */
  startTime: number;
  nodes: { id: number; callFrame: { functionName: string; url: string }; children?: number[] }[];
  samples: number[];
  timeDeltas: number[];
}

/** Where a function lives: an npm package, node's own code, the service (dist/) or a V8 pseudo-node. */
export function ownerOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const inModules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (inModules) return inModules[1]!;
  if (url.startsWith('node:')) return 'node (core)';
  if (url.includes('/dist/')) return 'oddswatch (dist)';
  return url;
}

/**
 * Self time by package and the top functions by self time, as text (idle excluded from the shares).
 * `window` (monotonic microseconds, process.hrtime.bigint() / 1000n) keeps only the samples taken in it,
 * e.g. the timed runs without start-up.
 */
export function summariseProfile(file: string, top = 25, window?: { from: number; to: number }): string {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfById = new Map<number, number>();
  let at = profile.startTime;
  profile.samples.forEach((id, index) => {
    const delta = profile.timeDeltas[index] ?? 0;
    at += delta;
    if (window && (at < window.from || at > window.to)) return;
    selfById.set(id, (selfById.get(id) ?? 0) + delta);
  });
  const byOwner = new Map<string, number>();
  const byFunction = new Map<string, number>();
  let busy = 0;
  for (const [id, micros] of selfById) {
    const { functionName, url } = byId.get(id)!.callFrame;
    if (functionName === '(idle)') continue;
    busy += micros;
    const owner = ownerOf(url, functionName);
    byOwner.set(owner, (byOwner.get(owner) ?? 0) + micros);
    const key = `${functionName || '(anonymous)'} [${owner}]`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + micros);
  }
  const rows = (map: Map<string, number>, count: number) =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, count)
      .map(([name, micros]) => `  ${(micros / 1000).toFixed(0).padStart(7)} ms ${((100 * micros) / busy).toFixed(1).padStart(5)}%  ${name}`);
  const otel = [...byOwner.entries()].filter(([owner]) => owner.startsWith('@opentelemetry/') || owner === 'import-in-the-middle' || owner === 'require-in-the-middle').reduce((sum, [, micros]) => sum + micros, 0);
  return [
    `busy ${(busy / 1000).toFixed(0)} ms; OpenTelemetry packages ${((100 * otel) / busy).toFixed(1)}% of busy self time`,
    'self time by package:',
    ...rows(byOwner, 20),
    `top ${top} functions by self time:`,
    ...rows(byFunction, top),
  ].join('\n');
}

// `tsx bench/cpuProfile.ts file.cpuprofile...` prints the summary of each file.
if (process.argv[1]?.endsWith('cpuProfile.ts')) {
  for (const file of process.argv.slice(2)) console.log(`${file}\n${summariseProfile(file)}\n`);
}
