import type { SimulatedKind } from './kinds.js';
import type { SimulatedEvent } from './sportingEvents.js';

/**
 * The `html` kind: `/html/{name}/football?page=N`, a bookmaker's server-rendered fixtures page: one table
 * row per sporting event (`data-event-id`, `<time datetime>`, home and away in cells of their own), American
 * prices for the match result and total goals 2.5, a `rel="next"` link until the last page, and what a real
 * page carries around it (scripts, a stylesheet, navigation, day separator rows, a footer).
 */
export const htmlRoute: SimulatedKind = {
  routes(app, context) {
    app.get('/html/:name/football', async (c) => {
      const name = c.req.param('name');
      const knobs = context.knobsOf(name, 'html');
      if (!knobs) return c.html(shell('Page not found', '<main><h1>Page not found</h1></main>'), 404);
      const page = Math.max(1, Number.parseInt(c.req.query('page') ?? '1', 10) || 1);
      const verdict = await context.serve(name, page, c.req.raw.signal);
      if (verdict === 'gone') return c.body(null, 503);
      if (verdict === 'fail') return c.html(shell('Service unavailable', '<main><h1>We will be back shortly</h1></main>'), 503);
      return c.html(fixturesPage(name, page, knobs.pages, context.events(name, page, knobs)));
    });
  },
  entry: (name, origin) => ({
    name,
    kind: 'html',
    url: `${origin}/html/${name}/football`,
    pagination: { nextLink: 'a[rel~=next]' },
    rows: {
      event: 'tr[data-event-id]',
      id: { selector: '', attribute: 'data-event-id' },
      home: 'td.home',
      away: 'td.away',
      startsAt: { selector: 'time', attribute: 'datetime' },
      none: '.no-events',
      markets: [
        {
          name: 'match_result',
          selections: [
            { name: 'home', price: 'td[data-outcome=home] .price' },
            { name: 'draw', price: 'td[data-outcome=draw] .price' },
            { name: 'away', price: 'td[data-outcome=away] .price' },
          ],
        },
        { name: 'total_goals_2.5', each: 'button[data-selection]', selection: { selector: '', attribute: 'data-selection' }, price: '.price' },
      ],
    },
  }),
};

function fixturesPage(name: string, page: number, pages: number, events: SimulatedEvent[]): string {
  const base = `/html/${encodeURIComponent(name)}/football`;
  const rows: string[] = [];
  let day = '';
  for (const event of events) {
    const eventDay = event.startsAt.toLocaleDateString('en-GB', { weekday: 'long', day: 'numeric', month: 'long', timeZone: 'UTC' });
    if (eventDay !== day) {
      day = eventDay;
      rows.push(`<tr class="day"><td colspan="7">${escapeHtml(day)}</td></tr>`);
    }
    rows.push(fixtureRow(event));
  }
  const pager = [
    page > 1 ? `<a rel="prev" href="${base}?page=${page - 1}">&lsaquo; Previous</a>` : '',
    `<span class="current">Page ${page} of ${pages}</span>`,
    page < pages ? `<a rel="next" href="${base}?page=${page + 1}">Next &rsaquo;</a>` : '',
  ].join('\n        ');
  const listing =
    events.length === 0
      ? '<p class="no-events">There are no football events to bet on right now.</p>'
      : `<table class="fixtures">
        <thead><tr><th>Kick-off</th><th>Home</th><th>Away</th><th>1</th><th>X</th><th>2</th><th>Total goals 2.5</th></tr></thead>
        <tbody>
        ${rows.join('\n        ')}
        </tbody>
      </table>`;
  return shell(
    `Football betting odds | ${escapeHtml(name)}`,
    `<header>
      <a class="logo" href="/">${escapeHtml(name)}</a>
      <nav class="main-nav"><a href="/">Home</a> <a href="${base}">Football</a> <a href="/html/${encodeURIComponent(name)}/tennis">Tennis</a> <a href="https://promotions.invalid/welcome">Welcome offer</a></nav>
    </header>
    <main>
      <h1>Football</h1>
      <div class="banner"><strong>Boost:</strong> <span class="price">+500</span> on any first goalscorer</div>
      ${listing}
      <nav class="pager">
        ${pager}
      </nav>
    </main>
    <footer><p>18+ | Please gamble responsibly</p><a href="/terms">Terms</a> <a href="/privacy">Privacy</a></footer>
    <script src="/static/app.js" defer></script>`,
  );
}

function fixtureRow(event: SimulatedEvent): string {
  const { prices } = event;
  const outcome = (key: 'home' | 'draw' | 'away', label: string) =>
    `<td class="odds" data-outcome="${key}"><button class="bet" aria-label="${label}"><span class="price">${american(prices[key])}</span></button></td>`;
  return `<tr class="fixture" data-event-id="${40_100 + event.n}">
          <td class="kickoff"><time datetime="${event.startsAt.toISOString()}">${event.startsAt.toISOString().slice(11, 16)}</time></td>
          <td class="team home">${escapeHtml(event.home)}</td>
          <td class="team away">${escapeHtml(event.away)}</td>
          ${outcome('home', '1')}
          ${outcome('draw', 'X')}
          ${outcome('away', '2')}
          <td class="totals"><button class="bet" data-selection="over">Over 2.5 <span class="price">${american(prices.over)}</span></button> <button class="bet" data-selection="under">Under 2.5 <span class="price">${american(prices.under)}</span></button></td>
        </tr>`;
}

function shell(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>${title}</title>
    <link rel="stylesheet" href="/static/site.css">
    <style>.odds .price { font-weight: 600 } tr.day td { background: #eee }</style>
    <script>
      window.dataLayer = window.dataLayer || [];
      window.__TEMPLATES__ = '<tr data-event-id="0"><td class="home">Template</td></tr>';
    </script>
  </head>
  <body>
    ${body}
  </body>
</html>
`;
}

/** A decimal price as American odds (moneyline): `+140` for 2.40, `-250` for 1.40. */
function american(decimal: number): string {
  return decimal >= 2 ? `+${Math.round((decimal - 1) * 100)}` : `-${Math.round(100 / (decimal - 1))}`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
}
