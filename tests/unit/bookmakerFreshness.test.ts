import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { BookmakerFreshness, MAX_BOOKMAKER_SERIES } from '../../src/liveState/bookmakerFreshness.js';

describe('when each bookmaker\'s newest price was written', () => {
  it('moves forward with each write, by platform and bookmaker, for configured platforms only', () => {
    let now = 1_000_000;
    const freshness = new BookmakerFreshness(['oddsline', 'redfox'], pino({ level: 'silent' }), () => now);
    freshness.wrote('oddsline', ['copperbet', 'tideway']);
    now += 60_000;
    freshness.wrote('oddsline', ['copperbet']);
    freshness.wrote('redfox', ['redfox']);
    freshness.wrote('removed', ['removed']);
    expect([...freshness.newestPrices()]).toEqual([
      { platform: 'oddsline', bookmaker: 'copperbet', seconds: 1_060 },
      { platform: 'oddsline', bookmaker: 'tideway', seconds: 1_000 },
      { platform: 'redfox', bookmaker: 'redfox', seconds: 1_060 },
    ]);
  });

  it('exports at most MAX_BOOKMAKER_SERIES bookmakers, and says so once', () => {
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) });
    const freshness = new BookmakerFreshness(['oddsline'], logger);
    freshness.wrote('oddsline', Array.from({ length: MAX_BOOKMAKER_SERIES + 20 }, (_, index) => `bookmaker${index}`));
    freshness.wrote('oddsline', ['one-more']);
    expect([...freshness.newestPrices()]).toHaveLength(MAX_BOOKMAKER_SERIES);
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ msg: 'too many bookmakers to export the age of their prices; the rest are left out', max: MAX_BOOKMAKER_SERIES });
  });
});
