import { remembered } from '../../shared/remembered.js';

/**
 * Participants as every platform spells them, read into one key: `Arsenal FC`, `ARSENAL` and `Arsenal F.C.`
 * are the key `arsenal`. Spellings that only knowledge can join (`Man Utd`, `Manchester United`) are the
 * caller's aliases, applied to these keys. docs/kinds/matching.md describes the rules.
 */

/**
 * Club-form tokens: dropped from either end of a name, never from its middle and never when they are all
 * that is left. Only forms that say "a club" (football club, sporting club, association...), in the
 * languages bookmakers list: never a word that tells two teams apart (`real`, `sporting`, `united`, `women`, `b`, `u21`).
 */
const AFFIXES = new Set([
  // English
  'fc', 'afc', 'club', 'sc',
  // Spanish, Portuguese
  'cf', 'cd', 'ud', 'sd', 'ca', 'rc', 'rcd', 'sl',
  // Italian
  'ac', 'acf', 'as', 'ss', 'ssc', 'us', 'calcio',
  // French
  'ogc', 'sco',
  // German, Dutch, Belgian
  'sv', 'fsv', 'tsv', 'vfb', 'vfl', 'tsg', 'bsc', 'kv', 'krc', 'rsc',
  // Nordic, Central and Eastern European
  'if', 'ik', 'ff', 'bk', 'fk', 'sk', 'nk', 'hnk', 'gnk', 'pfc', 'ks',
]);

/** Letters NFKD leaves whole (no combining mark to drop): folded by hand so `Bodø` = `Bodo`, `Łódź` = `Lodz`. */
const FOLDS: Readonly<Record<string, string>> = {
  ø: 'o', æ: 'ae', œ: 'oe', ß: 'ss', đ: 'd', ð: 'd', ł: 'l', ı: 'i', þ: 'th', ħ: 'h', ŧ: 't',
};
const FOLDABLE = new RegExp(`[${Object.keys(FOLDS).join('')}]`, 'g');

const MARKS = /\p{M}+/gu;
/** Initialisms written with points (`A.F.C.`, `F.C`): the points go, so the letters make one token. */
const INITIALISM = /(?<![\p{L}\p{N}])\p{L}(?:\.\p{L})+\.?(?![\p{L}\p{N}])/gu;
/** Apostrophes join (`Newell's` = `Newells`, `Nott'm` = `Nottm`): nobody writes `Newell s`. */
const APOSTROPHES = /['’‘`´ʼ]/g;
const NOT_A_WORD = /[^\p{L}\p{N}]+/gu;

/**
 * The participant's key: what two platforms' names of one participant have in common. May be empty (a name
 * of punctuation only). Remembered for the last 20,000 names: a scrape reads the same team names over and over.
 */
export const participantKey = remembered(keyOf, 20_000);

function keyOf(name: string): string {
  const text = name
    .normalize('NFKD')
    .replace(MARKS, '')
    .toLowerCase()
    .replace(FOLDABLE, (letter) => FOLDS[letter]!)
    .replace(INITIALISM, (initials) => initials.replaceAll('.', ''))
    .replace(APOSTROPHES, '')
    .replaceAll('&', ' and ')
    .replace(NOT_A_WORD, ' ')
    .trim();
  if (text === '') return '';
  const tokens = text.split(' ');
  let start = 0;
  let end = tokens.length;
  for (;;) {
    if (end - start > 1 && AFFIXES.has(tokens[start]!)) start += 1;
    // German numbered club forms: `1. FC Köln`, `1. FSV Mainz 05`.
    else if (end - start > 2 && /^\d$/.test(tokens[start]!) && AFFIXES.has(tokens[start + 1]!)) start += 2;
    else if (end - start > 1 && AFFIXES.has(tokens[end - 1]!)) end -= 1;
    else break;
  }
  return tokens.slice(start, end).join(' ');
}

export interface EventSides {
  home: string;
  away: string;
}

/**
 * Separators between the two sides, strongest first: a name is split on the first kind found once; found
 * twice, the name is ambiguous and not split (a wrong split would join unrelated sporting events).
 * Each needs whitespace on both sides, so a hyphen inside a name (`Paris Saint-Germain`) never splits.
 */
const SEPARATORS: readonly { pattern: RegExp; awayFirst: boolean }[] = [
  { pattern: /(?<=\s)vs?\.?(?=\s)/giu, awayFirst: false },
  { pattern: /(?<=\s)@(?=\s)/gu, awayFirst: true }, // US convention: `Away @ Home`
  { pattern: /(?<=\s)[-–—](?=\s)/gu, awayFirst: false },
];

/** The two sides of an event name (`A v B`, `A vs. B`, `A - B`, `A – B`, `Away @ Home`), or undefined when it has none. */
export function splitEventName(name: string): EventSides | undefined {
  for (const { pattern, awayFirst } of SEPARATORS) {
    const found = [...name.matchAll(pattern)];
    if (found.length === 0) continue;
    if (found.length > 1) return undefined;
    const at = found[0]!;
    const before = name.slice(0, at.index).trim();
    const after = name.slice(at.index + at[0].length).trim();
    if (before === '' || after === '') return undefined;
    return awayFirst ? { home: after, away: before } : { home: before, away: after };
  }
  return undefined;
}

/**
 * The two participants to match a platform's sporting event on, as the platform names them: its own
 * home and away when it gives both, else its event name split. Keys come from participantKey (after the
 * caller's aliases).
 */
export function eventParticipants(event: { eventName: string; home?: string; away?: string }): EventSides | undefined {
  const home = event.home?.trim();
  const away = event.away?.trim();
  if (home && away) return { home, away };
  return splitEventName(event.eventName);
}
