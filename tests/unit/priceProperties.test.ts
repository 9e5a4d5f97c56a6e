import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parsePrice } from '../../src/platforms/prices.js';
import { MAX_PRICE, storedPrice } from '../../src/platforms/storedValues.js';

/** Properties of parsePrice over generated prices and texts. PRICE_SEED=<n> replays a failure. */
const SEED = process.env.PRICE_SEED === undefined ? undefined : Number(process.env.PRICE_SEED);
const check = <T>(property: fc.IProperty<T>, numRuns = 2_000) => fc.assert(property, { numRuns, seed: SEED });

/** A price as stored: a whole number of ten-thousandths above 1 and below MAX_PRICE. */
const tenThousandths = fc.integer({ min: 10_001, max: MAX_PRICE * 10_000 - 1 });
const priceOf = (units: number) => units / 10_000;

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
const trimZeros = (text: string) => text.replace(/\.?0+$/, '');

const priceOrReason = (raw: unknown) => {
  const parsed = parsePrice(raw);
  return 'price' in parsed ? parsed.price : parsed.rejected;
};

function expectPrice(raw: unknown, expected: number): void {
  const parsed = parsePrice(raw);
  if (!('price' in parsed)) throw new Error(`${JSON.stringify(raw)} was rejected (${parsed.rejected}), expected ${expected}`);
  expect(Math.abs(parsed.price - expected)).toBeLessThanOrEqual(1e-4 + 1e-9);
}

describe('prices written from a price read back to it', () => {
  it('decimal: with 4 places, without trailing zeros, with a comma, padded', () => {
    check(
      fc.property(tenThousandths, (units) => {
        const price = priceOf(units);
        for (const text of [price.toFixed(4), trimZeros(price.toFixed(4)), price.toFixed(4).replace('.', ','), ` ${String(price)}\t`]) expectPrice(text, price);
      }),
    );
  });

  it('fractional: numerator/denominator in lowest terms, with or without spaces', () => {
    check(
      fc.property(tenThousandths, (units) => {
        const divisor = gcd(units - 10_000, 10_000);
        const [numerator, denominator] = [(units - 10_000) / divisor, 10_000 / divisor];
        fc.pre(numerator < 10_000_000); // 7 digits: no bookmaker writes 99999999/10000
        expectPrice(`${numerator}/${denominator}`, priceOf(units));
        expectPrice(`${numerator} / ${denominator}`, priceOf(units));
      }),
    );
  });

  it('fractional: any fraction is 1 + numerator/denominator as stored, or refused when that is no price', () => {
    check(
      fc.property(fc.integer({ min: 0, max: 9_999_999 }), fc.integer({ min: 1, max: 9_999_999 }), (numerator, denominator) => {
        const stored = storedPrice(1 + numerator / denominator);
        expect(priceOrReason(`${numerator}/${denominator}`)).toBe(stored ?? (1 + numerator / denominator >= MAX_PRICE ? 'too_high' : 'not_above_one'));
      }),
    );
  });

  it('American: +line at evens and above, -line below, to 4 places', () => {
    check(
      fc.property(tenThousandths, (units) => {
        const price = priceOf(units);
        const text = units >= 20_000 ? `+${trimZeros(((units - 10_000) / 100).toFixed(2))}` : `-${trimZeros((1_000_000 / (units - 10_000)).toFixed(4))}`;
        expectPrice(text, price);
      }),
    );
  });

  it('evens in every spelling is 2', () => {
    for (const text of ['evs', 'EVS', 'Evens', 'evens', ' even ', '1/1', '2/2', '+100', '-100', '2', '2.0', '2,00']) expectPrice(text, 2);
  });
});

describe('anything but a price is refused', () => {
  const priceAlphabet = /^[\s\d.,/+\-evnsEVNS]*$/u;
  const garbage = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 30 }).filter((text) => !priceAlphabet.test(text)),
    fc.constantFrom(
      'NaN', 'nan', 'Infinity', '-Infinity', '+Infinity', '1/0', '0/0', '-', '+', '/', '.', ',', '', '   ', '+99', '-99', '+99.9', '-0', '+0',
      '1e3', '1E3', '0x10', '2.5.1', '1,5,0', '2..5', '½', '٢٫٥', '２.５', '1/-2', '-1/2', '--100', '+-100', '1 000', '2 .5',
      'ev', 'evensies', 'e v s', '1//2', '1/2/3', '\u0000', '2\u00005', 'null', 'undefined', '[2]', '{"price":2}',
    ),
  );

  it('garbage strings: arbitrary Unicode, NaN, Infinity, 1/0, -, +99, empty', () => {
    check(fc.property(garbage, (text) => void expect(parsePrice(text)).toHaveProperty('rejected')));
  });

  it('any other value, without throwing; its text bounded', () => {
    check(
      fc.property(fc.oneof(fc.anything(), fc.bigInt(), fc.constant(Symbol('price')), fc.constant(() => 2), fc.constant(null), fc.constant(undefined)), (value) => {
        fc.pre(typeof value !== 'number' && typeof value !== 'string');
        const parsed = parsePrice(value);
        expect(parsed).toHaveProperty('rejected');
        expect(parsed.text.length).toBeLessThanOrEqual(40);
      }),
    );
  });

  it('numbers that are no price: NaN, infinities, zero, negatives', () => {
    for (const value of [Number.NaN, Infinity, -Infinity, 0, -0, -2, 1, Number.MIN_VALUE]) expect(parsePrice(value)).toHaveProperty('rejected');
  });
});

describe('what is stored is a price', () => {
  const nearEdges = fc.oneof(
    fc.double({ min: 0.99, max: 1.01, noNaN: true }),
    fc.double({ min: 9_999.98, max: 10_000.02, noNaN: true }),
    fc.double({ noNaN: false }),
  );
  const anyPriceText = fc.oneof(
    nearEdges.map(String),
    nearEdges.map((value) => (Number.isFinite(value) ? value.toFixed(5) : String(value))),
    fc.tuple(fc.integer({ min: 0, max: 99_999_999 }), fc.integer({ min: 0, max: 99_999_999 })).map(([a, b]) => `${a}/${b}`),
    fc.tuple(fc.constantFrom('+', '-'), fc.integer({ min: 0, max: 99_999_999 })).map(([sign, line]) => `${sign}${line}`),
    fc.string({ unit: fc.constantFrom(...'0123456789.,/+- evns'), maxLength: 12 }),
  );

  it('is above 1 and below 10,000, rounded to 4 places as the column stores it, for any input', () => {
    check(
      fc.property(fc.oneof(nearEdges, anyPriceText), (raw) => {
        const parsed = parsePrice(raw);
        if (!('price' in parsed)) return;
        expect(parsed.price).toBeGreaterThan(1);
        expect(parsed.price).toBeLessThan(MAX_PRICE);
        expect(storedPrice(parsed.price)).toBe(parsed.price);
      }),
      5_000,
    );
  });

  it('refuses the edges: 1.00004 rounds to 1, 9999.99996 to 10,000', () => {
    for (const raw of ['1', '1.0', '1.00004', 1.00004, '0/7', '+99.99', '10000', '9999.99996', 9_999.99996, '9999/1', '+999900', 10_000]) {
      expect(parsePrice(raw), String(raw)).toHaveProperty('rejected');
    }
    for (const [raw, price] of [['1.00005', 1.0001], ['9999.9999', 9_999.9999], ['-1000000', 1.0001]] as const) expectPrice(raw, price);
  });
});

describe('numbers and strings', () => {
  it('a JSON number is read as the decimal its text is', () => {
    check(
      fc.property(fc.oneof(fc.double({ min: 0, max: 20_000, noNaN: true }), fc.double({ min: 1, max: 3, noNaN: true })), (value) => {
        const text = String(value);
        fc.pre(/^\d+(?:\.\d+)?$/.test(text)); // 1e-7 and the like are no decimal text
        // Reasons may differ below 1 (0.0000010000000000000002 has too many places to be a price's text): both are refused.
        const [fromText, fromNumber] = [parsePrice(text), parsePrice(value)];
        expect('price' in fromText ? fromText.price : 'refused').toBe('price' in fromNumber ? fromNumber.price : 'refused');
        if (value >= 1) expect(fromText).toEqual(fromNumber);
      }),
    );
  });

  it('keeps the text it read, bounded', () => {
    expect(parsePrice(' 7/5 ')).toEqual({ price: 2.4, text: '7/5' });
    expect(parsePrice(2.4)).toEqual({ price: 2.4, text: '2.4' });
    expect(parsePrice('x'.repeat(100)).text).toHaveLength(40);
  });
});
