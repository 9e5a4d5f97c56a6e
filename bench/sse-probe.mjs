// Preloaded (--import) into the service and the raw server by bench/sse-fanout.bench.ts: on SIGUSR2 it
// prints this process's CPU time, RSS and event-loop delay since the previous SIGUSR2, then resets.
import { monitorEventLoopDelay } from 'node:perf_hooks';

const loop = monitorEventLoopDelay({ resolution: 5 });
loop.enable();
process.on('SIGUSR2', () => {
  const cpu = process.cpuUsage();
  const sample = {
    cpuUs: cpu.user + cpu.system,
    rss: process.memoryUsage.rss(),
    loopP99Ms: loop.percentile(99) / 1e6,
    loopMaxMs: loop.max / 1e6,
  };
  loop.reset();
  process.stderr.write(`SSE_PROBE ${JSON.stringify(sample)}\n`);
});
