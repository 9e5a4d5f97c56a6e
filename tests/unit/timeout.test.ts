import { setTimeout as delay } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { settlesWithin } from '../../src/shared/timeout.js';

describe('settlesWithin (the one deadline helper)', () => {
  it('is true when the work fulfils in time', async () => {
    expect(await settlesWithin(delay(5), 1_000)).toBe(true);
  });

  it('is true when the work rejects in time (a settled failure is not a missed deadline)', async () => {
    const failing = Promise.reject(new Error('boom'));
    expect(await settlesWithin(failing, 1_000)).toBe(true);
    await expect(failing).rejects.toThrow('boom');
  });

  it('is false when the deadline passes first, and does not wait for the work', async () => {
    const started = performance.now();
    expect(await settlesWithin(new Promise(() => undefined), 30)).toBe(false);
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('does not keep the process alive while it waits', async () => {
    // An unref'd wait: the deadline's timer is AbortSignal.timeout's, which never holds the event loop.
    const handles = (process as unknown as { getActiveResourcesInfo(): string[] }).getActiveResourcesInfo();
    const pending = settlesWithin(new Promise(() => undefined), 60_000);
    const during = (process as unknown as { getActiveResourcesInfo(): string[] }).getActiveResourcesInfo();
    expect(during.filter((kind) => kind === 'Timeout').length).toBe(handles.filter((kind) => kind === 'Timeout').length);
    void pending;
  });
});
