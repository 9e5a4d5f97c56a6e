import { remembered } from '../../shared/remembered.js';
import { participantKey, type EventSides } from './participants.js';

/**
 * One name per market and selection across platforms, so the prices of one outcome can be compared:
 * `1X2`/`2` and `h2h`/`Benfica` are both `match_result`/`away`. A market or selection read only in part
 * (a total without over or under, a handicap whose line cannot be placed on a side) is never guessed at:
 * it keeps its own name, trimmed and lower-cased, and so matches only the same spelling.
 * docs/kinds/matching.md lists the names.
 */
export interface CanonicalSelection {
  market: string;
  selection: string;
}

type Family = 'match_result' | 'totals' | 'spreads';

/** Market names by family, as `marketKey` writes them (lower case, words joined by `_`), without any line. */
const FAMILIES: ReadonlyMap<string, Family> = new Map([
  ...[
    'match_result', 'match_result_1x2', 'result', 'h2h', '1x2', 'full_time_result', 'fulltime_result', 'ft_result',
    'win_draw_win', 'moneyline', 'moneyline_3way', '3way', 'three_way', 'match_odds', 'match_betting',
  ].map((name) => [name, 'match_result'] as const),
  ...[
    'totals', 'total', 'over_under', 'o_u', 'total_goals', 'over_under_goals', 'goals_over_under', 'total_goals_over_under',
    'total_points', 'total_runs',
  ].map((name) => [name, 'totals'] as const),
  ...['spreads', 'spread', 'handicap', 'asian_handicap', 'point_spread', 'run_line', 'puck_line'].map((name) => [name, 'spreads'] as const),
]);

const LINE = String.raw`\d{1,4}(?:\.\d{1,4})?`;
const LINE_TOKEN = new RegExp(`^${LINE}$`);
const DECIMAL_COMMA = /(?<=\d),(?=\d)/g;
const OVER_UNDER = new RegExp(String.raw`^(over|under|o|u)\s*(?:\(\s*(${LINE})\s*\)|(${LINE}))?(?:\s+(?:goals?|points?|runs?))?$`);
/** A side and its handicap: `home -1.5`, `Arsenal (+0.5)`, `2 +1`; the line needs a space or a bracket before it. */
const SIDE_AND_LINE = new RegExp(String.raw`^(.*?)\s*(?:\(\s*([+-]?${LINE})\s*\)|(?<![\p{L}\p{N}.+-])([+-]?${LINE}))$`, 'u');

const collapse = (text: string) => text.trim().replace(/\s+/g, ' ').toLowerCase();

/**
 * `market` and `selection` as one name for every platform; `participants` (the event's home and away, as
 * the platform names them) let a selection named after a team (`Arsenal`) be read as its side.
 */
export function canonicalSelection(market: string, selection: string, participants?: EventSides): CanonicalSelection {
  const { family, line } = marketFamily(market);
  const text = collapse(selection.normalize('NFKC')).replace(DECIMAL_COMMA, '.');
  const canonical =
    family === 'match_result' && line === undefined ? matchResult(text, participants)
    : family === 'totals' ? totals(text, line)
    : family === 'spreads' ? spreads(text, line, participants)
    : undefined;
  return canonical ?? { market: collapse(market), selection: collapse(selection) };
}

/** The family of a market name and the line it holds (`total_goals_2.5`), if any; more than one number is no line. Remembered: a scrape repeats a few names. */
const marketFamily = remembered(readMarket, 2_000);

function readMarket(market: string): { family?: Family; line?: string } {
  const tokens = market
    .normalize('NFKC')
    .toLowerCase()
    .replace(DECIMAL_COMMA, '.')
    .replace(/(?<![\p{L}\p{N}.])(\d)[\s_-]*way\b/gu, '$1way') // `3-way` names the market, it is no line
    .split(/[^\p{L}\p{N}.]+/u)
    .map((token) => token.replace(/^\.+|\.+$/g, ''))
    .filter((token) => token !== '');
  const lines = tokens.filter((token) => LINE_TOKEN.test(token));
  if (lines.length > 1) return {};
  const family = FAMILIES.get(tokens.filter((token) => !LINE_TOKEN.test(token)).join('_'));
  return { family, line: lines[0] };
}

function matchResult(text: string, participants: EventSides | undefined): CanonicalSelection | undefined {
  const outcome =
    text === '1' || text === 'home' ? 'home'
    : text === 'x' || text === 'draw' || text === 'tie' ? 'draw'
    : text === '2' || text === 'away' ? 'away'
    : teamSide(text, participants);
  return outcome && { market: 'match_result', selection: outcome };
}

function totals(text: string, marketLine: string | undefined): CanonicalSelection | undefined {
  const read = OVER_UNDER.exec(text);
  if (!read) return undefined;
  const side = read[1]!.startsWith('o') ? 'over' : 'under';
  const line = read[2] ?? read[3] ?? marketLine;
  return { market: 'totals', selection: line === undefined ? side : `${side} ${lineText(line)}` };
}

function spreads(text: string, marketLine: string | undefined, participants: EventSides | undefined): CanonicalSelection | undefined {
  // The whole text first: a team may end in a number (`Schalke 04`).
  const whole = side(text, participants);
  if (whole) return marketLine === undefined ? { market: 'spreads', selection: whole } : undefined;
  const read = SIDE_AND_LINE.exec(text);
  const named = read && read[1] !== '' ? side(read[1]!, participants) : undefined;
  if (!named) return undefined;
  const line = Number(read![2] ?? read![3]);
  return { market: 'spreads', selection: `${named} ${line === 0 ? '0' : `${line > 0 ? '+' : '-'}${lineText(String(Math.abs(line)))}`}` };
}

function side(text: string, participants: EventSides | undefined): 'home' | 'away' | undefined {
  if (text === '1' || text === 'home') return 'home';
  if (text === '2' || text === 'away') return 'away';
  return teamSide(text, participants);
}

/** The side a team's name is, when it is one of the two (and the two differ). */
function teamSide(text: string, participants: EventSides | undefined): 'home' | 'away' | undefined {
  if (!participants) return undefined;
  const key = participantKey(text);
  if (key === '') return undefined;
  const home = participantKey(participants.home);
  const away = participantKey(participants.away);
  if (home === away) return undefined;
  return key === home ? 'home' : key === away ? 'away' : undefined;
}

/** A line without trailing zeros: `2.50` is `2.5`, `02` is `2`. */
function lineText(line: string): string {
  return String(Number(line));
}
