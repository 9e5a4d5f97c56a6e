import type { Context } from 'hono';
import type { FeedKnobs } from '../simulatedFeeds.js';
import type { SimulatedKind, SimulatorContext } from './kinds.js';
import type { SimulatedEvent } from './sportingEvents.js';

/**
 * The `browser` kind: `/browser/{name}/`, a single-page bookmaker. The document is an empty shell; its
 * script fetches the fixtures page after page from the bookmaker's API (`api/prematch?page=N`, following
 * `paging.next`) and renders them as event cards. `kestrel` is read by capturing those responses, `nightjar`
 * (which also shows a cookie banner) from the rendered cards. Knobs of this kind: `layoutChanged` (the
 * site's redesign: the API moved to `api/v3/odds-feed` and the cards' classes are renamed), `blockPage` (a
 * challenge page with HTTP 403), `neverLoads` (the document starts and never ends).
 */

/** Simulated browser platforms read from the rendered page; every other one by capture. */
const DOM_PLATFORMS = new Set(['nightjar']);

/** The mapping an operator writes for kestrel's API: one item per outcome. */
export const KESTREL_SELECT = `data.fixtures.(
  $f := $;
  markets.(
    $m := $;
    outcomes.{
      "eventId": $f.fixtureId,
      "eventName": $f.teams.home & " v " & $f.teams.away,
      "home": $f.teams.home,
      "away": $f.teams.away,
      "startsAt": $f.kickoff,
      "market": $m.key,
      "selection": label,
      "price": odds
    }
  )
)`;

export const browserRoute: SimulatedKind = {
  routes(app, context) {
    app.get('/browser/:name/', (c) => {
      const name = c.req.param('name');
      const knobs = context.knobsOf(name, 'browser');
      if (!knobs) return c.html(document('Page not found', '<main><h1>Page not found</h1></main>', ''), 404);
      if (knobs.blockPage) return c.html(CHALLENGE_PAGE, 403);
      if (knobs.neverLoads) return neverEnding(c, name);
      return c.html(appShell(name, knobs));
    });
    for (const path of ['api/prematch', 'api/v3/odds-feed']) {
      app.get(`/browser/:name/${path}`, (c) => apiPage(c, context, path === 'api/v3/odds-feed'));
    }
  },
  entry: (name, origin) =>
    DOM_PLATFORMS.has(name)
      ? {
          name,
          kind: 'browser',
          url: `${origin}/browser/${name}/`,
          actions: [{ click: '#accept-cookies', optional: true, timeoutMs: 1_000 }],
          dom: {
            waitFor: '.event-list[data-complete], .no-events',
            rows: {
              event: '.event-card',
              id: { selector: '', attribute: 'data-fixture' },
              home: '.team-home',
              away: '.team-away',
              startsAt: { selector: 'time', attribute: 'datetime' },
              none: '.no-events',
              markets: [
                { name: 'match_result', each: '.outcome', selection: { selector: '', attribute: 'data-outcome' }, price: '.price' },
                { name: 'total_goals_2.5', each: '.total', selection: { selector: '', attribute: 'data-outcome' }, price: '.price' },
              ],
            },
          },
        }
      : { name, kind: 'browser', url: `${origin}/browser/${name}/`, capture: '/api/prematch', select: KESTREL_SELECT, captureLast: 'paging.next = null' },
};

/** One page of the bookmaker's API, as its page script asks for it; the knobs every kind obeys apply here. */
async function apiPage(c: Context, context: SimulatorContext, redesigned: boolean): Promise<Response> {
  const name = c.req.param('name')!;
  const knobs = context.knobsOf(name, 'browser');
  if (!knobs || Boolean(knobs.layoutChanged) !== redesigned) return c.json({ error: 'not found' }, 404);
  const page = Math.max(1, Number.parseInt(c.req.query('page') ?? '1', 10) || 1);
  const verdict = await context.serve(name, page, c.req.raw.signal);
  if (verdict === 'gone') return c.body(null, 503);
  if (verdict === 'fail') return c.json({ error: 'service unavailable' }, 503);
  const prefix = DOM_PLATFORMS.has(name) ? 'n' : 'k';
  const fixtures = context.events(name, page, knobs).map((event) => fixture(event, prefix));
  return c.json({ data: { fixtures }, paging: { page, next: page < knobs.pages ? page + 1 : null } });
}

function fixture(event: SimulatedEvent, prefix: string) {
  const { prices } = event;
  return {
    fixtureId: `${prefix}-${event.n}`,
    teams: { home: event.home, away: event.away },
    kickoff: event.startsAt.toISOString(),
    markets: [
      { key: 'match_result', outcomes: [{ label: 'home', odds: prices.home }, { label: 'draw', odds: prices.draw }, { label: 'away', odds: prices.away }] },
      { key: 'total_goals_2.5', outcomes: [{ label: 'over', odds: prices.over }, { label: 'under', odds: prices.under }] },
    ],
  };
}

/** The classes the page's script renders with: renamed by the redesign (`layoutChanged`). */
const CLASSES = {
  list: 'event-list',
  card: 'event-card',
  home: 'team-home',
  away: 'team-away',
  outcome: 'outcome',
  total: 'total',
  price: 'price',
  none: 'no-events',
};
const REDESIGNED: typeof CLASSES = {
  list: 'fixtures-grid',
  card: 'match-tile',
  home: 'participant-a',
  away: 'participant-b',
  outcome: 'selection-btn',
  total: 'line-btn',
  price: 'odds-value',
  none: 'empty-state',
};

function appShell(name: string, knobs: FeedKnobs): string {
  const config = {
    api: knobs.layoutChanged ? 'api/v3/odds-feed' : 'api/prematch',
    classes: knobs.layoutChanged ? REDESIGNED : CLASSES,
  };
  const banner = DOM_PLATFORMS.has(name)
    ? '<div id="cookie-banner" role="dialog" aria-label="Cookies"><p>We use cookies to improve your experience.</p><button id="accept-cookies">Accept all</button></div>'
    : '';
  return document(
    `Football odds | ${escapeHtml(name)}`,
    `<header><span class="logo">${escapeHtml(name)}</span><nav><a href="#">Sports</a> <a href="#">In-play</a> <a href="#">Casino</a></nav></header>
    <main><h1>Football</h1><div id="app"><p class="loading">Loading odds…</p></div></main>
    ${banner}
    <footer>18+ | Please gamble responsibly</footer>`,
    `<script>window.__CONFIG__ = ${JSON.stringify(config).replace(/</g, '\\u003c')};</script>
    <script>${PAGE_SCRIPT}</script>`,
  );
}

/**
 * The page's own script: fetches page after page, rendering each as it comes; marks the list complete
 * after the last. Cards are built with textContent: the API's values never become markup.
 */
const PAGE_SCRIPT = `
(function () {
  var config = window.__CONFIG__, c = config.classes, app = document.getElementById('app');
  var banner = document.getElementById('accept-cookies');
  if (banner) banner.addEventListener('click', function () { document.getElementById('cookie-banner').remove(); });
  var list = document.createElement('div');
  list.className = c.list;
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function card(fixture) {
    var node = el('article', c.card);
    node.setAttribute('data-fixture', fixture.fixtureId);
    var teams = el('h2', 'teams');
    teams.append(el('span', c.home, fixture.teams.home), ' v ', el('span', c.away, fixture.teams.away));
    var time = el('time', '', new Date(fixture.kickoff).toUTCString().slice(0, 22));
    time.setAttribute('datetime', fixture.kickoff);
    node.append(teams, time);
    fixture.markets.forEach(function (market) {
      var row = el('div', 'outcomes');
      market.outcomes.forEach(function (outcome) {
        var button = el('button', market.key === 'match_result' ? c.outcome : c.total);
        button.setAttribute('data-outcome', outcome.label);
        button.append(el('span', 'label', outcome.label), ' ', el('span', c.price, outcome.odds.toFixed(2)));
        row.append(button);
      });
      node.append(row);
    });
    return node;
  }
  function load(page) {
    return fetch(config.api + '?page=' + page, { headers: { accept: 'application/json' } })
      .then(function (response) {
        if (!response.ok) throw new Error('HTTP ' + response.status);
        return response.json();
      })
      .then(function (body) {
        if (page === 1) app.replaceChildren(list);
        body.data.fixtures.forEach(function (fixture) { list.append(card(fixture)); });
        if (body.paging.next) return load(body.paging.next);
        if (list.children.length === 0) app.replaceChildren(el('p', c.none, 'No football events right now.'));
        else list.setAttribute('data-complete', '');
      });
  }
  load(1).catch(function (error) {
    console.error('odds could not be loaded: ' + error.message);
    app.replaceChildren(el('p', 'error', 'Odds are unavailable right now. Please try again later.'));
  });
})();
`;

const CHALLENGE_PAGE = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Just a moment...</title></head>
<body><div id="challenge-platform"><h1>Checking your browser before accessing the site.</h1><p>Please complete the captcha to continue.</p></div></body></html>
`;

/** A document whose first bytes come at once and whose end never does (until the client leaves). */
function neverEnding(c: Context, name: string): Response {
  const signal = c.req.raw.signal;
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new TextEncoder().encode(`<!DOCTYPE html><html lang="en"><head><title>${escapeHtml(name)}</title></head><body><p>Loading`));
      const keepAlive = setInterval(() => controller.enqueue(new TextEncoder().encode('.')), 1_000);
      signal.addEventListener('abort', () => {
        clearInterval(keepAlive);
        try {
          controller.close();
        } catch {
          // already closed
        }
      }, { once: true });
    },
  });
  return new Response(body, { headers: { 'content-type': 'text/html; charset=utf-8' } });
}

function document(title: string, body: string, scripts: string): string {
  return `<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>${title}</title>
    <style>
      body { font-family: sans-serif; margin: 0; background: #f4f5f7; color: #1d2330 }
      header { display: flex; gap: 2rem; align-items: center; padding: .75rem 1.5rem; background: #14213d; color: #fff }
      header a { color: #fca311 } .logo { font-weight: 700; text-transform: uppercase }
      main { padding: 1rem 1.5rem } article { background: #fff; border-radius: 6px; padding: .75rem 1rem; margin: .5rem 0 }
      article h2 { font-size: 1rem; margin: 0 0 .25rem } time { color: #5c6370; font-size: .85rem }
      .outcomes { display: flex; gap: .5rem; margin-top: .5rem } .outcomes button { min-width: 5rem; padding: .35rem }
      #cookie-banner { position: fixed; bottom: 0; left: 0; right: 0; background: #222; color: #fff; padding: 1rem 1.5rem; display: flex; justify-content: space-between }
      footer { padding: 1rem 1.5rem; color: #5c6370 }
    </style>
  </head>
  <body>
    ${body}
    ${scripts}
  </body>
</html>
`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
}
