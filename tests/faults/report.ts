import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** One fault scenario's outcome, as the closing note and README quote it. */
export interface FaultEntry {
  /** Unique name: a later run of the same scenario replaces its entry. */
  name: string;
  /** What the system ended in (statuses, answers), in words a reader can check. */
  endState: string;
  /** The measured figures (durations in ms, counts, bytes). */
  figure: Record<string, number | string>;
}

export const FAULT_REPORT = path.join(fileURLToPath(new URL('../../', import.meta.url)), 'test-artifacts', 'fault-report.json');

/**
 * Merges one entry into test-artifacts/fault-report.json (by name, sorted), written atomically. The faults
 * project runs its files one at a time, so read-modify-write does not race.
 */
export function recordFault(entry: FaultEntry): void {
  mkdirSync(path.dirname(FAULT_REPORT), { recursive: true });
  let report: { generatedAt: string; scenarios: (FaultEntry & { recordedAt: string })[] } = { generatedAt: '', scenarios: [] };
  try {
    report = JSON.parse(readFileSync(FAULT_REPORT, 'utf8')) as typeof report;
  } catch {
    // first entry, or an unreadable report: start a new one
  }
  const scenarios = report.scenarios.filter((existing) => existing.name !== entry.name);
  scenarios.push({ ...entry, recordedAt: new Date().toISOString() });
  scenarios.sort((a, b) => a.name.localeCompare(b.name));
  const temporary = `${FAULT_REPORT}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify({ generatedAt: new Date().toISOString(), scenarios }, null, 2)}\n`);
  renameSync(temporary, FAULT_REPORT);
}
