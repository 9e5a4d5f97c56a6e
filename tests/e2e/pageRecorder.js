/* global window, document, MutationObserver */
// Injected with page.addInitScript before the dashboard's own scripts. It changes nothing the app does; it
// records what the page *showed* over time, so a test can assert on sequences (a step seen running with a
// ticking time before it completed, the connection indicator going down and up) instead of sampling the DOM
// at lucky moments. Everything lands in `window.__e2e`; tests read it with page.evaluate.
(() => {
  const rec = {
    /** EventSource instances the page created: { url, at }. */
    eventSources: [],
    /** Connection indicator changes: { at, state, retryCount }. */
    connection: [],
    /** Live run panel step changes: { at, runId, platform, status, elapsed, eventsSoFar, events, text }. */
    steps: [],
    /** Moments where the live panel showed a completed step next to a running or waiting one. */
    mixedAt: [],
    /** Toasts as they appeared: { at, kind, text }. */
    toasts: [],
    /** How many sources are open now (not CLOSED). */
    openEventSources: () => sources.filter((source) => source.readyState !== 2).length,
  };
  const sources = [];
  window.__e2e = rec;

  const Native = window.EventSource;
  if (Native) {
    // A subclass: the app's source behaves exactly as the native one, we only count constructions.
    window.EventSource = class CountingEventSource extends Native {
      constructor(url, init) {
        super(url, init);
        rec.eventSources.push({ url: String(url), at: Date.now() });
        sources.push(this);
      }
    };
  }

  const lastStep = new Map();
  let lastConnection = '';
  const seenToasts = new WeakSet();
  const text = (root, testid) => root.querySelector(`[data-testid="${testid}"]`)?.textContent?.trim() ?? null;

  function scan() {
    const at = Date.now();
    const indicator = document.querySelector('[data-testid="connection-indicator"]');
    if (indicator) {
      const state = indicator.getAttribute('data-state');
      const retryCount = Number(indicator.getAttribute('data-retry-count'));
      const key = `${state}/${retryCount}`;
      if (key !== lastConnection) {
        lastConnection = key;
        rec.connection.push({ at, state, retryCount });
      }
    }

    const panel = document.querySelector('[data-testid="live-run-panel"]');
    const progress = panel?.querySelector('[data-testid="run-progress"]');
    if (progress) {
      const runId = Number(progress.getAttribute('data-run-id'));
      const statuses = [];
      for (const step of progress.querySelectorAll('[data-testid="platform-step"]')) {
        const platform = step.getAttribute('data-platform');
        const status = step.getAttribute('data-step-status');
        statuses.push(status);
        const facts = step.querySelector('.facts')?.textContent?.replace(/\s+/g, ' ').trim() ?? '';
        const soFar = /(\d+) events? so far/.exec(facts);
        const events = text(step, 'step-events');
        const entry = {
          at,
          runId,
          platform,
          status,
          elapsed: text(step, 'step-elapsed'),
          eventsSoFar: soFar ? Number(soFar[1]) : null,
          events: events == null ? null : Number.parseInt(events, 10),
          text: facts,
        };
        const key = `${runId}/${platform}`;
        const signature = `${status}|${entry.elapsed}|${entry.eventsSoFar}|${entry.events}`;
        if (lastStep.get(key) !== signature) {
          lastStep.set(key, signature);
          rec.steps.push(entry);
        }
      }
      if (statuses.includes('completed') && (statuses.includes('running') || statuses.includes('pending'))) {
        if (rec.mixedAt.at(-1)?.runId !== runId || at - rec.mixedAt.at(-1).at > 50) rec.mixedAt.push({ at, runId, statuses });
      }
    }

    for (const toast of document.querySelectorAll('[data-testid="toast"]')) {
      if (seenToasts.has(toast)) continue;
      seenToasts.add(toast);
      rec.toasts.push({ at, kind: toast.getAttribute('data-kind'), text: toast.textContent.replace(/\s+/g, ' ').trim() });
    }
  }

  const observer = new MutationObserver(scan);
  observer.observe(document, { subtree: true, childList: true, attributes: true, characterData: true });
})();
