import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Every process of a throwaway cluster (postmaster and its backends), from its data directory's
 * postmaster.pid. For freezing the server with SIGSTOP: the TCP sockets stay open, nothing answers.
 */
export function clusterPids(dataDir: string): number[] {
  const postmaster = Number(readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  let children: number[] = [];
  try {
    children = execFileSync('pgrep', ['-P', String(postmaster)]).toString().trim().split('\n').filter(Boolean).map(Number);
  } catch {
    // no backend yet
  }
  return [postmaster, ...children];
}

/** Freezes (SIGSTOP) the whole cluster; the returned function thaws it (SIGCONT), including processes frozen meanwhile. */
export function freezeCluster(dataDir: string): () => void {
  const pids = clusterPids(dataDir);
  for (const pid of pids) process.kill(pid, 'SIGSTOP');
  return () => {
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        // gone
      }
    }
  };
}
