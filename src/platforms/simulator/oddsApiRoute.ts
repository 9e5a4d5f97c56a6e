import type { SimulatedKind } from './kinds.js';

/** The bookmakers the simulated odds API aggregates (fictional; keys as The Odds API spells them, of different lengths: the price seed). */
export const SIMULATED_ODDS_API_BOOKMAKERS = [
  { key: 'copperbet', title: 'Copperbet' },
  { key: 'tideway', title: 'Tideway' },
  { key: 'meridian', title: 'Meridian' },
] as const;

/** Credits a simulated odds API starts with; each served request costs markets x regions, as the real one's does. */
export const SIMULATED_QUOTA = 20_000;

/** The line of the simulated totals market (the feed kind's `total_goals_2.5`). */
const TOTAL_LINE = 2.5;

/**
 * The `odds-api` kind: `/odds-api/{name}/v4/sports/{sport}/odds`, The Odds API v4's shape and behaviour
 * for a simulated platform: the key required (`apiKey`, from SIMULATED_ODDS_API_KEY), the quota in
 * x-requests-* headers (the `quota` knob: credits of the plan), and the API's own 401 bodies
 * (MISSING_KEY, INVALID_KEY, OUT_OF_USAGE_CREDITS).
 */
export const oddsApiRoute: SimulatedKind = {
  routes(app, context) {
    const usedCredits = new Map<string, number>();
    const quotaHeaders = (name: string, plan: number, last: number) => {
      const used = usedCredits.get(name) ?? 0;
      return { 'x-requests-remaining': String(Math.max(0, plan - used)), 'x-requests-used': String(used), 'x-requests-last': String(last) };
    };

    app.get('/odds-api/:name/v4/sports/:sport/odds', async (c) => {
      const name = c.req.param('name');
      const knobs = context.knobsOf(name, 'odds-api');
      if (!knobs) return c.json({ message: 'Unknown sport', error_code: 'UNKNOWN_SPORT' }, 404);
      const apiKey = c.req.query('apiKey');
      const expected = context.env.SIMULATED_ODDS_API_KEY;
      if (!apiKey) return c.json({ message: 'API key is missing.', error_code: 'MISSING_KEY' }, 401);
      if (!expected || apiKey !== expected) return c.json({ message: 'API key is not valid.', error_code: 'INVALID_KEY' }, 401);
      const markets = (c.req.query('markets') ?? 'h2h').split(',');
      const regions = (c.req.query('regions') ?? 'uk').split(',');
      const cost = markets.length * regions.length;
      const plan = knobs.quota ?? SIMULATED_QUOTA;
      if (plan - (usedCredits.get(name) ?? 0) < cost) {
        return c.json({ message: 'Usage quota has been reached.', error_code: 'OUT_OF_USAGE_CREDITS' }, 401, quotaHeaders(name, plan, 0));
      }
      const verdict = await context.serve(name, 1, c.req.raw.signal);
      if (verdict === 'gone') return c.body(null, 503);
      if (verdict === 'fail') return c.json({ message: 'Service temporarily unavailable.' }, 503, quotaHeaders(name, plan, 0));
      usedCredits.set(name, (usedCredits.get(name) ?? 0) + cost);

      const carried = SIMULATED_ODDS_API_BOOKMAKERS.filter((bookmaker) => !knobs.withoutBookmakers?.includes(bookmaker.key));
      const priced = carried.map((bookmaker) => ({ bookmaker, events: context.events(name, 1, knobs, bookmaker.key) }));
      const lastUpdate = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
      const events = (priced[0]?.events ?? []).map((event, index) => ({
        id: `sim${String(event.n).padStart(6, '0')}`,
        sport_key: c.req.param('sport'),
        sport_title: 'Simulated League',
        commence_time: event.startsAt.toISOString().replace(/\.\d{3}Z$/, 'Z'),
        home_team: event.home,
        away_team: event.away,
        bookmakers: priced.map(({ bookmaker, events: its }) => {
          const prices = its[index]!.prices;
          return {
            key: bookmaker.key,
            title: bookmaker.title,
            last_update: lastUpdate,
            markets: [
              markets.includes('h2h') && {
                key: 'h2h',
                last_update: lastUpdate,
                outcomes: [
                  { name: event.home, price: prices.home },
                  { name: event.away, price: prices.away },
                  { name: 'Draw', price: prices.draw },
                ],
              },
              markets.includes('totals') && {
                key: 'totals',
                last_update: lastUpdate,
                outcomes: [
                  { name: 'Over', price: prices.over, point: TOTAL_LINE },
                  { name: 'Under', price: prices.under, point: TOTAL_LINE },
                ],
              },
            ].filter(Boolean),
          };
        }),
      }));
      return c.json(events, 200, quotaHeaders(name, plan, cost));
    });
  },
  entry: (name, origin) => ({
    name,
    kind: 'odds-api',
    baseUrl: `${origin}/odds-api/${name}`,
    sport: 'soccer_simulated',
    regions: 'uk',
    markets: 'h2h,totals',
    apiKey: { env: 'SIMULATED_ODDS_API_KEY' },
  }),
};
