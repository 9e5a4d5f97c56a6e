/**
 * Sums self time per function over the .cpuprofile files of a directory (node --cpu-prof output) and
 * prints the top functions with their share. Usage: tsx bench/sse-profile.ts DIR [TOP]
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export async function collectProfileSummary(dir: string, top = 30): Promise<string> {
  const selfUs = new Map<string, number>();
  const byFileUs = new Map<string, number>();
  let totalUs = 0;
  for (const file of (await readdir(dir)).filter((name) => name.endsWith('.cpuprofile'))) {
    const profile = JSON.parse(await readFile(path.join(dir, file), 'utf8')) as CpuProfile;
    const byId = new Map(profile.nodes.map((node) => [node.id, node]));
    profile.samples.forEach((id, index) => {
      const node = byId.get(id)!;
      const { functionName, url, lineNumber } = node.callFrame;
      const where = url ? `${url.replace(/^.*\/(node_modules|dist|src)\//, '$1/')}:${lineNumber + 1}` : '';
      const key = `${functionName || '(anonymous)'} ${where}`.trim();
      const delta = profile.timeDeltas[index] ?? 0;
      selfUs.set(key, (selfUs.get(key) ?? 0) + delta);
      const fileKey = url ? url.replace(/^.*\/(node_modules|dist|src)\//, '$1/').replace(/^(node_modules\/(@[^/]+\/)?[^/]+).*$/, '$1') : functionName || '(anonymous)';
      byFileUs.set(fileKey, (byFileUs.get(fileKey) ?? 0) + delta);
      totalUs += delta;
    });
  }
  const busyUs = [...selfUs].filter(([key]) => key !== '(idle)').reduce((sum, [, us]) => sum + us, 0);
  const lines = [...selfUs]
    .filter(([key]) => key !== '(idle)')
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([key, us]) => `${((100 * us) / busyUs).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(6)} ms  ${key}`);
  const files = [...byFileUs]
    .filter(([key]) => key !== '(idle)')
    .sort((a, b) => b[1] - a[1])
    .slice(0, 15)
    .map(([key, us]) => `${((100 * us) / busyUs).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(6)} ms  ${key}`);
  return [`CPU profile: self time by file or package (share of busy):`, ...files, '', `CPU profile: ${(busyUs / 1000).toFixed(0)} ms busy of ${(totalUs / 1000).toFixed(0)} ms sampled; self time by function (share of busy):`, ...lines].join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  console.log(await collectProfileSummary(process.argv[2]!, Number(process.argv[3] ?? 30)));
}
