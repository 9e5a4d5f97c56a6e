import { describe, expect, it } from 'vitest';
import { createLocalMetricsPipeline } from '../../src/telemetry/prometheus.js';

/** The naming rule of /metrics (telemetry/prometheus.ts): every name ends in its unit, whoever made the instrument. */
describe('unit suffixes', () => {
  it('appends the unit to names that lack it, once, and writes the same word in # UNIT', async () => {
    const pipeline = createLocalMetricsPipeline();
    const { meter } = pipeline;
    meter.createHistogram('http.server.request.duration', { unit: 's' }).record(0.2, { 'http.route': '/api/runs' });
    meter.createHistogram('oddswatch_run_duration_seconds', { unit: 's' }).record(3);
    meter.createCounter('process.cpu.time', { unit: 's' }).add(1.5, { 'cpu.mode': 'user' });
    meter.createObservableGauge('process.memory.usage', { unit: 'By' }).addCallback((result) => result.observe(1024));
    meter.createObservableGauge('nodejs.eventloop.utilization', { unit: '1' }).addCallback((result) => result.observe(0.25));
    meter.createObservableUpDownCounter('v8js.memory.heap.space.size', { unit: 'By' }).addCallback((result) => result.observe(10));
    meter.createCounter('oddswatch_runs').add(1);
    meter.createCounter('feed.pages', { unit: '{page}' }).add(2);
    meter.createObservableGauge('process_open_fds', { unit: '{file_descriptor}' }).addCallback((result) => result.observe(12));
    const text = await pipeline.render();
    await pipeline.shutdown();

    const families = Object.fromEntries([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].filter((match) => match[1] !== 'target_info').map((match) => [match[1], match[2]]));
    expect(families).toEqual({
      http_server_request_duration_seconds: 'histogram',
      oddswatch_run_duration_seconds: 'histogram',
      process_cpu_time_seconds_total: 'counter',
      process_memory_usage_bytes: 'gauge',
      nodejs_eventloop_utilization_ratio: 'gauge',
      v8js_memory_heap_space_size_bytes: 'gauge',
      oddswatch_runs_total: 'counter',
      feed_pages_total: 'counter',
      process_open_fds: 'gauge',
    });
    const units = Object.fromEntries([...text.matchAll(/^# UNIT (\S+) (\S+)$/gm)].map((match) => [match[1], match[2]]));
    expect(units).toEqual({
      http_server_request_duration_seconds: 'seconds',
      oddswatch_run_duration_seconds: 'seconds',
      process_cpu_time_seconds_total: 'seconds',
      process_memory_usage_bytes: 'bytes',
      nodejs_eventloop_utilization_ratio: 'ratio',
      v8js_memory_heap_space_size_bytes: 'bytes',
    });
    expect(text).toContain('http_server_request_duration_seconds_bucket{http_route="/api/runs",le="5"} 1');
    expect(text).toContain('process_cpu_time_seconds_total{cpu_mode="user"} 1.5');
  });
});
