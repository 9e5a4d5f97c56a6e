import { describe, expect, it } from 'vitest';
import { PlatformError } from '../../src/platforms/adapter.js';
import type { RejectedPriceReason } from '../../src/shared/contract.js';
import { createAdapter } from '../../src/platforms/createAdapter.js';
import { classifyOddsApiStatus, errorCodeOf, oddsApiUrl, quotaOf } from '../../src/platforms/oddsApi/oddsApiAdapter.js';
import { isBookmakerKey, oddsEventName, oddsSelectionName, readOddsResponse } from '../../src/platforms/oddsApi/oddsApiResponse.js';
import { parsePlatformEntry, PlatformEntryError } from '../../src/platforms/platformsFile.js';
import { isSecretParam, redactUrl } from '../../src/platforms/redact.js';

/** How the odds-api kind names what The Odds API v4 sends, reads its quota headers and words its failures. */

describe('odds-api selection names', () => {
  it('are the outcome name alone without a point (h2h)', () => {
    expect(oddsSelectionName('h2h', { name: 'Arsenal' })).toBe('Arsenal');
    expect(oddsSelectionName('h2h', { name: 'Draw', point: null })).toBe('Draw');
  });

  it('append a total’s line as it is', () => {
    expect(oddsSelectionName('totals', { name: 'Over', point: 2.5 })).toBe('Over 2.5');
    expect(oddsSelectionName('totals', { name: 'Under', point: 2.5 })).toBe('Under 2.5');
    expect(oddsSelectionName('alternate_totals', { name: 'Over', point: 3 })).toBe('Over 3');
    expect(oddsSelectionName('team_totals', { name: 'Over', point: 1.25 })).toBe('Over 1.25');
  });

  it('append a handicap with its sign, so the two sides of a spread differ', () => {
    expect(oddsSelectionName('spreads', { name: 'Arsenal', point: -1.5 })).toBe('Arsenal -1.5');
    expect(oddsSelectionName('spreads', { name: 'Benfica', point: 1.5 })).toBe('Benfica +1.5');
    expect(oddsSelectionName('alternate_spreads', { name: 'Benfica', point: 0.25 })).toBe('Benfica +0.25');
    expect(oddsSelectionName('spreads', { name: 'Arsenal', point: 0 })).toBe('Arsenal 0');
    expect(oddsSelectionName('spreads', { name: 'Arsenal', point: -0 })).toBe('Arsenal 0');
  });

  it('round a point to 4 places, so float noise does not make a new selection', () => {
    expect(oddsSelectionName('totals', { name: 'Over', point: 2.5000000001 })).toBe('Over 2.5');
  });
});

describe('odds-api event names and bookmaker keys', () => {
  it('name a sporting event "home v away", an outright by its sport title, else by its id', () => {
    expect(oddsEventName({ id: 'e1', home_team: 'Arsenal', away_team: 'Benfica' })).toBe('Arsenal v Benfica');
    expect(oddsEventName({ id: 'e1', home_team: null, away_team: null, sport_title: 'Masters Tournament Winner' })).toBe('Masters Tournament Winner');
    expect(oddsEventName({ id: 'e1' })).toBe('e1');
  });

  it('accept the API’s short lower-case keys only', () => {
    for (const key of ['williamhill', 'betfair_ex_uk', 'sport888', 'copperbet']) expect(isBookmakerKey(key), key).toBe(true);
    for (const key of ['', 'William Hill', 'BETFAIR', '_x', 'a-b', 'x'.repeat(41), 'bet\u0000365', 'ünibet']) expect(isBookmakerKey(key), key).toBe(false);
  });
});

describe('reading a v4 odds response', () => {
  const event = (bookmakers: unknown[], extra: Record<string, unknown> = {}) => ({ id: 'e1', sport_key: 'soccer_epl', commence_time: '2030-01-01T12:00:00Z', home_team: 'Arsenal', away_team: 'Benfica', bookmakers, ...extra });
  const read = (body: unknown) => {
    const rejected: RejectedPriceReason[] = [];
    return { page: readOddsResponse(body, { rejectedPrice: (reason) => void rejected.push(reason) }), rejected };
  };

  it('makes one selection per outcome, under its bookmaker, with the sides and start time of its event', () => {
    const { page } = read([event([{ key: 'williamhill', title: 'William Hill', last_update: '2030-01-01T10:00:00Z', markets: [{ key: 'totals', outcomes: [{ name: 'Over', price: 1.9, point: 2.5 }] }] }])]);
    expect(page).toEqual({
      eventsFound: 1,
      refused: { bookmakers: 0, prices: 0 },
      batch: [
        { eventKey: 'e1', eventName: 'Arsenal v Benfica', home: 'Arsenal', away: 'Benfica', startsAt: '2030-01-01T12:00:00.000Z', market: 'totals', selection: 'Over 2.5', bookmaker: 'williamhill', price: 1.9, priceText: '1.9' },
      ],
    });
  });

  it('counts sporting events without bookmakers, and names an outright without sides', () => {
    const { page } = read([event([]), event([{ key: 'b', markets: [{ key: 'outrights', outcomes: [{ name: 'Rory', price: 9 }] }] }], { id: 'e2', home_team: null, away_team: null, sport_title: 'Masters' })]);
    expect(page.eventsFound).toBe(2);
    expect(page.batch).toEqual([{ eventKey: 'e2', eventName: 'Masters', startsAt: '2030-01-01T12:00:00.000Z', market: 'outrights', selection: 'Rory', bookmaker: 'b', price: 9, priceText: '9' }]);
  });

  it('drops a price that is no price (counted) and a bookmaker with a bad key (its prices counted apart)', () => {
    const outcomes = [{ name: 'Arsenal', price: 'x' }, { name: 'Benfica', price: 2.2 }];
    const { page, rejected } = read([event([{ key: 'Bad Book', markets: [{ key: 'h2h', outcomes }] }, { key: 'good', markets: [{ key: 'h2h', outcomes }] }])]);
    expect(page.batch.map((s) => `${s.bookmaker}/${s.selection}`)).toEqual(['good/Benfica']);
    expect(rejected).toEqual(['malformed']);
    expect(page.refused).toEqual({ bookmakers: 1, prices: 2 });
  });

  it('fails as parse, naming where and never the value, on a wrong shape or a name too long to store', () => {
    const failure = (body: unknown) => {
      try {
        read(body);
      } catch (error) {
        expect(error).toBeInstanceOf(PlatformError);
        expect((error as PlatformError).reason).toBe('parse');
        return (error as PlatformError).message;
      }
      throw new Error('expected a parse failure');
    };
    expect(failure({ events: [] })).toMatch(/^page 1 is malformed: page /);
    expect(failure([event([{ key: 'b', markets: [{ key: 'h2h', outcomes: [{ name: 'A', price: 2, point: 'SECRET' }] }] }])])).toMatch(/^page 1 is malformed: \[0\]\.bookmakers\[0\]\.markets\[0\]\.outcomes\[0\]\.point /);
    const long = 'L'.repeat(190);
    const message = failure([event([], { home_team: long, away_team: long })]);
    expect(message).toBe('page 1 is malformed: [0] home_team v away_team is longer than 200 characters');
    expect(failure([event([{ key: 'b', markets: [{ key: 'spreads', outcomes: [{ name: 'L'.repeat(195), price: 2, point: -10.5 }] }] }])])).toBe(
      'page 1 is malformed: [0].bookmakers[0].markets[0].outcomes[0].name with its point is longer than 200 characters',
    );
    expect(failure([event([], { commence_time: 'tomorrow' })])).toMatch(/^page 1 is malformed: \[0\]\.commence_time /);
  });
});

describe('odds-api quota headers and failures', () => {
  const headers = (values: Record<string, string>) => new Headers(values);

  it('reads remaining, used and the last request’s cost; no report without a remaining count', () => {
    expect(quotaOf(headers({ 'x-requests-remaining': '19998', 'x-requests-used': '2', 'x-requests-last': '2' }))).toEqual({ remaining: 19998, used: 2, last: 2 });
    expect(quotaOf(headers({ 'x-requests-remaining': '0' }))).toEqual({ remaining: 0, used: null });
    expect(quotaOf(headers({ 'x-requests-used': '5' }))).toBeUndefined();
    expect(quotaOf(headers({ 'x-requests-remaining': '-1' }))).toBeUndefined();
    expect(quotaOf(headers({ 'x-requests-remaining': 'lots', 'x-requests-used': '1e99' }))).toBeUndefined();
  });

  it('tells a used-up quota from a refused key on 401, and leaves other statuses to the default', () => {
    const quota = JSON.stringify({ message: 'Usage quota has been reached.', error_code: 'OUT_OF_USAGE_CREDITS' });
    const invalid = JSON.stringify({ message: 'API key is not valid.', error_code: 'INVALID_KEY' });
    expect(classifyOddsApiStatus(401, headers({ 'x-requests-remaining': '1', 'x-requests-used': '499' }), quota)?.reason).toBe('quota_exhausted');
    expect(classifyOddsApiStatus(401, headers({}), quota)?.message).toBe("platform answered HTTP 401 on page 1: the API's usage quota is used up");
    expect(classifyOddsApiStatus(401, headers({ 'x-requests-remaining': '0' }), undefined)?.reason).toBe('quota_exhausted');
    expect(classifyOddsApiStatus(401, headers({ 'x-requests-remaining': '0' }), invalid)?.reason).toBe('http_4xx');
    expect(classifyOddsApiStatus(401, headers({}), invalid)?.message).toBe('platform answered HTTP 401 on page 1: the API key was refused (INVALID_KEY)');
    expect(classifyOddsApiStatus(401, headers({}), '<html>nope</html>')?.message).toBe('platform answered HTTP 401 on page 1: the API key was refused');
    expect(classifyOddsApiStatus(429, headers({}), undefined)).toBeUndefined();
    expect(classifyOddsApiStatus(500, headers({}), quota)).toBeUndefined();
  });

  it('keeps only an error code that looks like one (the body is the platform’s)', () => {
    expect(errorCodeOf('{"error_code":"OUT_OF_USAGE_CREDITS"}')).toBe('OUT_OF_USAGE_CREDITS');
    expect(errorCodeOf('{"error_code":"key abc123 is bad"}')).toBeUndefined();
    expect(errorCodeOf('null')).toBeUndefined();
    expect(errorCodeOf('{')).toBeUndefined();
    expect(errorCodeOf(undefined)).toBeUndefined();
  });
});

describe('odds-api entries', () => {
  const entry = (extra: Record<string, unknown> = {}) => ({ name: 'theodds', kind: 'odds-api', sport: 'soccer_epl', regions: 'uk', apiKey: { env: 'ODDS_KEY' }, ...extra });
  const env = { ODDS_KEY: 'k3y-0f-the-0dds-api' };

  it('read The Odds API itself by default, with h2h, and show a base URL without the key', () => {
    const parsed = parsePlatformEntry(entry(), 5_000, env);
    const adapter = createAdapter(parsed);
    expect(adapter.baseUrl).toBe('https://api.the-odds-api.com');
    expect(oddsApiUrl(parsed as Parameters<typeof oddsApiUrl>[0])).toBe(
      'https://api.the-odds-api.com/v4/sports/soccer_epl/odds?regions=uk&markets=h2h&oddsFormat=decimal&dateFormat=iso&apiKey=k3y-0f-the-0dds-api',
    );
  });

  it('refuse a key written in the file, a query in the base URL, and neither regions nor bookmakers', () => {
    expect(() => parsePlatformEntry(entry({ apiKey: 'k3y-in-the-file' }), 5_000, env)).toThrow(PlatformEntryError);
    expect(() => parsePlatformEntry(entry({ baseUrl: 'https://api.the-odds-api.com/?apiKey=k3y-in-the-url' }), 5_000, env)).toThrow(/baseUrl: must have no query/);
    expect(() => parsePlatformEntry(entry({ regions: undefined }), 5_000, env)).toThrow(/regions: needs regions or bookmakers/);
    expect(() => parsePlatformEntry(entry(), 5_000, {})).toThrow(/apiKey: environment variable ODDS_KEY is not set/);
  });

  it('carry the key in a parameter every redaction masks', () => {
    expect(isSecretParam('apiKey')).toBe(true);
    expect(redactUrl('https://api.the-odds-api.com/v4/sports/soccer_epl/odds?regions=uk&apiKey=k3y-0f-the-0dds-api')).toBe(
      'https://api.the-odds-api.com/v4/sports/soccer_epl/odds?regions=uk&apiKey=***',
    );
  });
});
