import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, otelDefaults } from '../../src/config.js';

describe('configuration', () => {
  it('has working defaults with nothing set', () => {
    const config = loadConfig({});
    expect(config.port).toBe(3000);
    expect(config.databaseUrl).toBeUndefined();
    expect(config.scrapeIntervalSeconds).toBe(300);
    expect(config.watchdogIntervalSeconds).toBe(120);
    expect(config.connectionGraceMs).toBe(15_000);
    expect(config.volumeDropFraction).toBe(0.5);
    expect(config.volumeDropWindow).toBe(10);
    expect(config.allowPlatformAddresses).toEqual([]);
  });

  it.each([
    ['PORT', 'abc', 'expected an integer'],
    ['PORT', '70000', 'expected an integer from 0 to 65535'],
    ['DATABASE_URL', 'mysql://db/x', 'postgres://'],
    ['SCRAPE_INTERVAL_SECONDS', '5', 'from 10 to 86400'],
    ['SCRAPE_CONCURRENCY', '0', 'from 1 to 1024'],
    ['PLATFORM_TIMEOUT_MS', '-1', 'expected an integer'],
    ['HEARTBEAT_INTERVAL_MS', '1.5', 'expected an integer'],
    ['STALE_AFTER_MS', '1000', 'more than twice HEARTBEAT_INTERVAL_MS'],
    ['MAX_RUN_DURATION_MS', 'forever', 'expected an integer'],
    ['WATCHDOG_INTERVAL_SECONDS', '0', 'expected an integer'],
    ['CONNECTION_GRACE_MS', 'soon', 'expected an integer'],
    ['OPERATOR_TOKEN', 'short', 'at least 16 characters'],
    ['TRACE_URL_TEMPLATE', 'https://grafana/explore', 'must contain {traceId}'],
    ['LOG_LEVEL', 'loud', 'expected one of'],
    ['SCHEDULER_ENABLED', 'yes', 'expected true or false'],
    ['VOLUME_DROP_FRACTION', '1.5', 'expected a number from 0 to 1'],
    ['VOLUME_DROP_FRACTION', 'half', 'expected a number from 0 to 1'],
    ['VOLUME_DROP_WINDOW', '2', 'from 3 to 1000'],
    ['ALLOW_PLATFORM_ADDRESSES', '169.254.0.0/16,metadata.internal', 'expected comma-separated IP addresses or CIDRs'],
    ['ALLOW_PLATFORM_ADDRESSES', '169.254.0.0/33', 'expected comma-separated IP addresses or CIDRs'],
  ])('rejects %s=%s with a message naming the variable', (variable, value, expected) => {
    expect(() => loadConfig({ [variable]: value })).toThrow(ConfigError);
    try {
      loadConfig({ [variable]: value });
    } catch (error) {
      const message = (error as Error).message;
      expect(message).toContain(`${variable}:`);
      expect(message).toContain(expected);
      expect(message).not.toContain('\n');
    }
  });

  it('never prints the operator token it rejects', () => {
    expect(() => loadConfig({ OPERATOR_TOKEN: 'secret-ish' })).toThrow(/OPERATOR_TOKEN: .*"\*\*\*"/);
  });

  it('treats empty variables as unset', () => {
    expect(loadConfig({ PORT: '', DATABASE_URL: '' }).port).toBe(3000);
  });

  it('exports no traces unless an OTLP endpoint is configured, and never OTLP logs by default', () => {
    expect(otelDefaults({})).toMatchObject({ OTEL_TRACES_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none' });
    expect(otelDefaults({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }).OTEL_TRACES_EXPORTER).toBe('otlp');
    expect(otelDefaults({ OTEL_TRACES_EXPORTER: 'console' }).OTEL_TRACES_EXPORTER).toBeUndefined();
  });
});
