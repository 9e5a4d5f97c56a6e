import { readdir, readFile } from 'node:fs/promises';
import type { Meter } from '@opentelemetry/api';

/**
 * CPU, resident memory and file descriptors of the service process: `process_cpu_time_seconds_total{cpu_mode=
 * "user"|"system"}` (rate() of it is the cores used) and `process_memory_usage_bytes` (resident set size), with
 * the semantic conventions' names; `process_open_fds` and `process_max_fds` (open descriptors and the soft
 * limit, Linux) with the names every Prometheus client library gives them: the conventions' name,
 * process.unix.file_descriptor.count, would end in `_count` on a gauge, which promtool refuses.
 *
 * The Node runtime itself (event-loop delay and utilization, heap spaces, GC by kind) comes from the
 * runtime-node instrumentation the SDK enables (sdk.ts). Not @opentelemetry/instrumentation-host-metrics,
 * which oddswatch does not install: its process memory has no unit (so no `_bytes`, against
 * the naming rule of prometheus.ts), its utilization gauges are differences since the previous collection
 * (two scrapers, such as /metrics and METRICS_PORT or two Prometheus servers, would split them; a counter and
 * rate() have no such state), its default system.* groups describe the host (per CPU, and a container's host at
 * that), it loads `systeminformation` even for the process groups, and it has no file descriptors, the first
 * thing that runs out on a server holding thousands of SSE streams.
 */
export function observeProcess(meter: Meter): void {
  const cpu = meter.createObservableCounter('process.cpu.time', { unit: 's', description: 'CPU time the process used, by mode (user, system).' });
  const memory = meter.createObservableGauge('process.memory.usage', { unit: 'By', description: 'Resident set size of the process.' });
  meter.addBatchObservableCallback(
    (result) => {
      const usage = process.cpuUsage();
      result.observe(cpu, usage.user / 1e6, { 'cpu.mode': 'user' });
      result.observe(cpu, usage.system / 1e6, { 'cpu.mode': 'system' });
      result.observe(memory, process.memoryUsage.rss());
    },
    [cpu, memory],
  );

  if (process.platform !== 'linux') return;
  const open = meter.createObservableGauge('process_open_fds', { unit: '{file_descriptor}', description: 'File descriptors the process holds open (sockets included).' });
  const limit = meter.createObservableGauge('process_max_fds', { unit: '{file_descriptor}', description: 'Soft limit of open file descriptors (RLIMIT_NOFILE): EMFILE beyond it.' });
  let softLimit: number | undefined;
  meter.addBatchObservableCallback(
    async (result) => {
      try {
        // The listing's own descriptor is counted too: one more than before the call.
        result.observe(open, (await readdir('/proc/self/fd')).length - 1);
        softLimit ??= await readSoftLimit();
        if (softLimit !== undefined) result.observe(limit, softLimit);
      } catch {
        // No /proc (a sandbox): the series are absent rather than wrong.
      }
    },
    [open, limit],
  );
}

async function readSoftLimit(): Promise<number | undefined> {
  const line = (await readFile('/proc/self/limits', 'utf8')).split('\n').find((text) => text.startsWith('Max open files'));
  const soft = line?.split(/\s{2,}/)[1];
  return soft && /^\d+$/.test(soft) ? Number(soft) : undefined;
}
