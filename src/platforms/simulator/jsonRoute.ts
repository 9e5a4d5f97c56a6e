import type { SimulatedKind } from './kinds.js';
import type { SimulatedEvent } from './sportingEvents.js';

/**
 * The `json` kind: a bookmaker's own API at `/json/{name}/v2/fixtures?sport=football[&cursor=…]`, in a
 * shape of its own: fixtures numbered from 9000, participants apart, a kick-off 5 minutes after the
 * canonical start (its own clock), offers by type with fractional prices, an opaque cursor for the next page.
 * Teams are spelled as this bookmaker spells them: the same clubs, differing in case, punctuation or a
 * club affix.
 */
const SPELLINGS: Readonly<Record<string, string>> = {
  Arsenal: 'Arsenal FC',
  Benfica: 'BENFICA',
  Celtic: 'CELTIC',
  Dynamo: 'Dynamo',
  Everton: 'Everton F.C.',
  Feyenoord: 'Feyenoord',
  Galatasaray: 'Galatasaray',
  Hertha: 'hertha',
  Inter: 'Inter',
  Juventus: 'Juventus FC',
  Lazio: 'Lazio',
  Marseille: 'Marseille',
  Olympique: 'OLYMPIQUE',
};

const KICKOFF_SHIFT_MS = 5 * 60_000;

/** The mapping an operator writes for this API: one item per outcome, its market named as oddswatch reads it. */
export const QUAYSIDE_SELECT = `data.fixtures.(
  $fixture := $;
  offers[type in ["MATCH_RESULT", "OVER_UNDER"]].(
    $offer := $;
    outcomes.{
      "eventId": $fixture.fixtureId,
      "eventName": $fixture.participants.home.name & " v " & $fixture.participants.away.name,
      "home": $fixture.participants.home.name,
      "away": $fixture.participants.away.name,
      "startsAt": $fixture.kickoff,
      "market": $offer.type = "MATCH_RESULT" ? "match_result" : "total_goals",
      "selection": $offer.type = "MATCH_RESULT" ? label : $lowercase(label) & " " & $string($offer.line),
      "price": odds
    }
  )
)`;

export const jsonRoute: SimulatedKind = {
  routes(app, context) {
    app.get('/json/:name/v2/fixtures', async (c) => {
      const name = c.req.param('name');
      const knobs = context.knobsOf(name, 'json');
      if (!knobs) return c.json({ error: { code: 'NOT_FOUND' } }, 404);
      const cursor = c.req.query('cursor');
      const page = cursor === undefined ? 1 : pageOf(cursor);
      if (page === undefined) return c.json({ error: { code: 'INVALID_CURSOR' } }, 400);
      const verdict = await context.serve(name, page, c.req.raw.signal);
      if (verdict === 'gone') return c.body(null, 503);
      if (verdict === 'fail') return c.json({ error: { code: 'SERVICE_UNAVAILABLE' } }, 503);
      const fixtures = context.events(name, page, knobs).map(fixture);
      return c.json({ data: { fixtures }, paging: { next: page < knobs.pages ? cursorOf(page + 1) : null } });
    });
  },
  entry: (name, origin) => ({
    name,
    kind: 'json',
    url: `${origin}/json/${name}/v2/fixtures?sport=football`,
    pagination: { style: 'cursor', next: 'paging.next', param: 'cursor' },
    select: QUAYSIDE_SELECT,
  }),
};

function fixture(event: SimulatedEvent) {
  return {
    fixtureId: 9000 + event.n,
    participants: { home: { name: spelled(event.home) }, away: { name: spelled(event.away) } },
    kickoff: new Date(event.startsAt.getTime() + KICKOFF_SHIFT_MS).toISOString(),
    offers: [
      {
        type: 'MATCH_RESULT',
        outcomes: [
          { label: '1', odds: fractional(event.prices.home) },
          { label: 'X', odds: fractional(event.prices.draw) },
          { label: '2', odds: fractional(event.prices.away) },
        ],
      },
      {
        type: 'OVER_UNDER',
        line: 2.5,
        outcomes: [
          { label: 'Over', odds: fractional(event.prices.over) },
          { label: 'Under', odds: fractional(event.prices.under) },
        ],
      },
    ],
  };
}

const spelled = (team: string) => SPELLINGS[team] ?? team;

/** A decimal price (2 places) as the exact fraction bookmakers write: 2.5 -> `3/2`, 2.37 -> `137/100`, 2 -> `Evs`. */
export function fractional(decimal: number): string {
  const numerator = Math.round(decimal * 100) - 100;
  const divisor = gcd(numerator, 100);
  return numerator === 100 ? 'Evs' : `${numerator / divisor}/${100 / divisor}`;
}

function gcd(a: number, b: number): number {
  return b === 0 ? Math.abs(a) : gcd(b, a % b);
}

const cursorOf = (page: number) => Buffer.from(`fixtures:${page}`).toString('base64url');

function pageOf(cursor: string): number | undefined {
  const match = /^fixtures:([1-9]\d{0,3})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  return match ? Number(match[1]) : undefined;
}
