import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { feedPageUrl } from '../../src/platforms/feed/feedAdapter.js';
import { readPlatformsFile } from '../../src/platforms/platformsFile.js';
import { redactText, redactUrl } from '../../src/platforms/redact.js';

describe('feed request URLs', () => {
  it('appends /events and the page to the path, keeping the base query (an API key)', () => {
    expect(feedPageUrl('https://feeds.example/v1?apikey=KEY', 2)).toBe('https://feeds.example/v1/events?apikey=KEY&page=2');
    expect(feedPageUrl('https://feeds.example/v1/', 1)).toBe('https://feeds.example/v1/events?page=1');
    expect(feedPageUrl('https://feeds.example', 1)).toBe('https://feeds.example/events?page=1');
    expect(feedPageUrl('https://feeds.example/v1?page=9&x=1', 3)).toBe('https://feeds.example/v1/events?page=3&x=1');
  });

});

describe('redaction', () => {
  it('masks userinfo and secret-looking query values, keeps the rest', () => {
    expect(redactUrl('https://user:pass@host.example/v1?apikey=K1&region=eu&access_token=T&Signature=S&X-Api-Key=Z&page=2')).toBe(
      'https://***@host.example/v1?apikey=***&region=eu&access_token=***&Signature=***&X-Api-Key=***&page=2',
    );
    for (const name of ['api_key', 'key', 'token', 'secret', 'password', 'sig', 'client_secret', 'auth_token']) {
      expect(redactUrl(`https://h.example/?${name}=v4lue`), name).toBe(`https://h.example/?${name}=***`);
    }
    expect(redactUrl('not a url ?apikey=K //u:p@h')).toBe('not a url ?apikey=*** //***@h');
  });

  it('masks URLs and known secret values inside free text', () => {
    expect(redactText('GET https://u:p@h.example/v1?token=abc failed: header was s3cr3t-value', ['s3cr3t-value'])).toBe(
      'GET https://***@h.example/v1?token=*** failed: header was ***',
    );
  });
});

describe('PLATFORMS_FILE', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'oddswatch-platforms-'));
  const write = (text: string) => {
    const file = path.join(dir, `${Math.random()}.json`);
    writeFileSync(file, text);
    return file;
  };

  it('resolves header values from environment variables by name, and names a missing one', async () => {
    const file = write(JSON.stringify([{ name: 'acme', baseUrl: 'https://h.example/v1', headers: { Authorization: { env: 'ACME_TOKEN' }, 'X-Client': 'oddswatch' } }]));
    const [acme] = await readPlatformsFile(file, 1000, { ACME_TOKEN: 'Bearer t0ken-value' });
    expect(acme!.headers).toEqual({ Authorization: 'Bearer t0ken-value', 'X-Client': 'oddswatch' });
    await expect(readPlatformsFile(file, 1000, {})).rejects.toThrow(/platform acme: headers\.Authorization: environment variable ACME_TOKEN is not set/);
    await expect(readPlatformsFile(write('[{"name":"a","baseUrl":"https://h.example","header":{}}]'), 1000, {})).rejects.toThrow(/platform a: unknown key "header"/);
  });

  it('never quotes the file in its errors (a URL with credentials could be there)', async () => {
    for (const text of ['[{"name":"a","baseUrl":"https://u:pw-s3cr3t@h.example/v1?apikey=ak-s3cr3t" x}]', '[{"name":"a","baseUrl":"https://u:pw-s3cr3t@h/?apikey=ak-s3cr3t"},}]']) {
      const error = (await readPlatformsFile(write(text), 1000, {}).catch((caught: unknown) => caught)) as Error;
      expect(error.message).toMatch(/not valid JSON/);
      expect(error.message).not.toContain('s3cr3t');
    }
  });
});
