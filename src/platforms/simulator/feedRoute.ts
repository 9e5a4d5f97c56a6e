import type { SimulatedKind } from './kinds.js';

/** The `feed` kind: `/feeds/{name}/events?page=N`, oddswatch's own shape, with the event's start time. */
export const feedRoute: SimulatedKind = {
  routes(app, context) {
    app.get('/feeds/:name/events', async (c) => {
      const name = c.req.param('name');
      const knobs = context.knobsOf(name, 'feed');
      if (!knobs) return c.json({ error: 'unknown feed' }, 404);
      const page = Math.max(1, Number.parseInt(c.req.query('page') ?? '1', 10) || 1);
      const verdict = await context.serve(name, page, c.req.raw.signal);
      if (verdict === 'gone') return c.body(null, 503);
      if (verdict === 'fail') return c.json({ error: 'feed temporarily unavailable' }, 503);
      const events = context.events(name, page, knobs).map((event) => ({
        id: `ev-${event.n}`,
        name: `${event.home} v ${event.away}`,
        startsAt: event.startsAt.toISOString(),
        markets: [
          {
            name: 'match_result',
            selections: [
              { name: 'home', price: event.prices.home },
              { name: 'draw', price: event.prices.draw },
              { name: 'away', price: event.prices.away },
            ],
          },
          {
            name: 'total_goals_2.5',
            selections: [
              { name: 'over', price: event.prices.over },
              { name: 'under', price: event.prices.under },
            ],
          },
        ],
      }));
      return c.json({ page, totalPages: knobs.pages, events });
    });
  },
  entry: (name, origin) => ({ name, kind: 'feed', baseUrl: `${origin}/feeds/${name}` }),
};
