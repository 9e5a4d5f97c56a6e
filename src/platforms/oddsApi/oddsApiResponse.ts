import { z } from 'zod';
import { PlatformError, type ScrapedSelection, type ScrapeObserver } from '../adapter.js';
import { collectSelection, describeIssue } from '../mapping.js';
import { storedName } from '../storedValues.js';

/**
 * The Odds API v4's odds response: an array of sporting events, each with the bookmakers that price it.
 * Unknown keys (sport_title, last_update, link, sid...) are ignored; a wrong shape or a name the odds
 * columns cannot store fails the platform as `parse`.
 */
const outcome = z.object({
  name: storedName,
  price: z.unknown(),
  /** The line of a totals or spreads outcome (2.5, -1.5); absent for h2h. */
  point: z.number().min(-100_000).max(100_000).nullish(),
});

const bookmaker = z.object({
  /** Checked apart (isBookmakerKey): a bad key drops its bookmaker, not the platform. */
  key: z.string(),
  markets: z.array(z.object({ key: storedName, outcomes: z.array(outcome) })),
});

const oddsEvent = z.object({
  id: storedName,
  commence_time: z.iso.datetime({ offset: true }),
  /** Null or absent for an outright (a tournament's winner), which has no two sides. */
  home_team: storedName.nullish(),
  away_team: storedName.nullish(),
  sport_title: storedName.nullish(),
  bookmakers: z.array(bookmaker),
});

export const oddsResponse = z.array(oddsEvent);
export type OddsEvent = z.infer<typeof oddsEvent>;
export type OddsOutcome = z.infer<typeof outcome>;

/** A bookmaker as oddswatch records it: the API's key (`williamhill`, `betfair_ex_uk`), lower case, short. */
const BOOKMAKER_KEY = /^[a-z0-9][a-z0-9_]{0,39}$/;
export const isBookmakerKey = (key: string): boolean => BOOKMAKER_KEY.test(key);

/** `Arsenal v Benfica`; an outright (no sides) is named by its sport title, else by its id. */
export function oddsEventName(event: Pick<OddsEvent, 'id' | 'home_team' | 'away_team' | 'sport_title'>): string {
  if (event.home_team && event.away_team) return `${event.home_team} v ${event.away_team}`;
  return event.sport_title ?? event.id;
}

/**
 * The selection's name: the outcome's, with its point when it has one. A total's point is a line
 * (`Over 2.5`), any other market's a handicap with its sign (`Arsenal -1.5`, `Benfica +1.5`).
 */
export function oddsSelectionName(market: string, outcome: Pick<OddsOutcome, 'name' | 'point'>): string {
  if (outcome.point === undefined || outcome.point === null) return outcome.name;
  const text = String(Number(outcome.point.toFixed(4)));
  const signed = !market.includes('totals') && outcome.point > 0 ? `+${text}` : text;
  return `${outcome.name} ${signed}`;
}

/** What one response holds: its selections, and the bookmakers dropped for a key oddswatch cannot record. */
export interface OddsPage {
  eventsFound: number;
  batch: ScrapedSelection[];
  refused: { bookmakers: number; prices: number };
}

/**
 * Reads a parsed JSON body into selections, one per outcome, `bookmaker` the bookmaker's key. A price that
 * is no valid price is dropped and counted (collectSelection); a bookmaker whose key is not a short
 * lower-case key is dropped with its prices (counted in `refused`, never recorded under a made-up name).
 */
export function readOddsResponse(body: unknown, observer: Pick<ScrapeObserver, 'rejectedPrice'>): OddsPage {
  const parsed = oddsResponse.safeParse(body);
  if (!parsed.success) throw new PlatformError('parse', `page 1 is malformed: ${describeIssue(parsed.error.issues[0])}`);
  const batch: ScrapedSelection[] = [];
  const refused = { bookmakers: 0, prices: 0 };
  parsed.data.forEach((event, eventIndex) => {
    const eventName = checkedName(oddsEventName(event), `[${eventIndex}] home_team v away_team`);
    const common = {
      eventKey: event.id,
      eventName,
      ...(event.home_team && event.away_team ? { home: event.home_team, away: event.away_team } : {}),
      startsAt: new Date(event.commence_time).toISOString(),
    };
    event.bookmakers.forEach((offer, bookmakerIndex) => {
      if (!isBookmakerKey(offer.key)) {
        refused.bookmakers += 1;
        refused.prices += offer.markets.reduce((sum, market) => sum + market.outcomes.length, 0);
        return;
      }
      offer.markets.forEach((market, marketIndex) => {
        market.outcomes.forEach((outcome, outcomeIndex) => {
          const where = `[${eventIndex}].bookmakers[${bookmakerIndex}].markets[${marketIndex}].outcomes[${outcomeIndex}].name with its point`;
          const selection = checkedName(oddsSelectionName(market.key, outcome), where);
          collectSelection(batch, observer, { ...common, market: market.key, selection, bookmaker: offer.key }, outcome.price);
        });
      });
    });
  });
  return { eventsFound: parsed.data.length, batch, refused };
}

/** A name put together from valid parts may still be too long to store: the platform's malformed page. */
function checkedName(name: string, where: string): string {
  const checked = storedName.safeParse(name);
  if (!checked.success) throw new PlatformError('parse', `page 1 is malformed: ${where} ${checked.error.issues[0]?.message ?? 'is invalid'}`);
  return checked.data;
}
