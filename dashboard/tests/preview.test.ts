/**
 * The Platforms page's preview store: the entry is parsed here (JSON that does not parse never reaches the
 * service), sent as it is written, and the service's answer or refusal is kept for the page.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { createPinia, setActivePinia } from 'pinia';
import type { PlatformPreview } from '@contract';
import { usePreviewStore } from '@/stores/preview';
import { installFakeFetch } from './helpers/fakeFetch';

beforeEach(() => {
  setActivePinia(createPinia());
});

const ANSWER: PlatformPreview = {
  ok: false,
  kind: 'feed',
  reason: 'forbidden_address',
  error: "the platform's host resolves to a forbidden address (169.254.169.254)",
  eventsFound: 0,
  selectionsFound: 0,
  selections: [],
  bookmakers: [],
  rejectedPrices: {},
  quota: null,
  matchedExisting: null,
};

describe('the preview store', () => {
  it('refuses JSON that does not parse without asking the service, keeping the draft', async () => {
    const fake = installFakeFetch({});
    const preview = usePreviewStore();
    await preview.preview('{"name": "acme",');
    expect(preview.error).toBe('The entry is not valid JSON.');
    expect(preview.draft).toBe('{"name": "acme",');
    expect(fake.calls).toEqual([]);
  });

  it('posts the entry as written and keeps the answer, a failed platform included', async () => {
    const fake = installFakeFetch({ 'POST /api/platforms/preview': { body: ANSWER } });
    const preview = usePreviewStore();
    await preview.preview('{"name": "metadata", "baseUrl": "http://169.254.169.254/latest"}');
    expect(fake.callsTo('POST', '/api/platforms/preview').map((call) => call.body)).toEqual([{ name: 'metadata', baseUrl: 'http://169.254.169.254/latest' }]);
    expect(preview.result).toEqual(ANSWER);
    expect(preview.error).toBeNull();
    expect(preview.pending).toBe(false);
  });

  it("shows the service's refusal of an invalid entry and drops the previous answer", async () => {
    installFakeFetch({
      'POST /api/platforms/preview': [{ body: ANSWER }, { status: 400, body: { error: { code: 'invalid_request', message: 'platform acme: unknown key "fooo"' } } }],
    });
    const preview = usePreviewStore();
    await preview.preview('{"name": "metadata", "baseUrl": "http://169.254.169.254/latest"}');
    await preview.preview('{"name": "acme", "fooo": 1}');
    expect(preview.result).toBeNull();
    expect(preview.error).toBe('platform acme: unknown key "fooo"');
  });
});
