import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { trace, type Span } from '@opentelemetry/api';
import { load } from 'cheerio';
import { errors, type BrowserContext, type BrowserContextOptions, type Page, type Response, type Route } from 'playwright-core';
import { PAGE_CAPTURE_LIMITS } from '../../shared/contract.js';
import { tracer, recordFailure } from '../../telemetry/tracing.js';
import { PlatformError, type PageCapture, type PlatformAdapter, type ScrapedSelection, type ScrapeObserver, type ScrapeProgress } from '../adapter.js';
import { isChallengePage, reasonForStatus } from '../failureReason.js';
import { isForbiddenAddress } from '../forbiddenAddresses.js';
import { readRow } from '../html/rowReader.js';
import { compileExpression, type CompiledExpression } from '../json/expressions.js';
import { collectItems } from '../json/selectedItems.js';
import { DEFAULT_MAX_RESPONSE_BYTES, parseJsonBody } from '../platformHttp.js';
import { entrySecrets, type PlatformEntry } from '../platformsFile.js';
import { redactText, redactUrl } from '../redact.js';
import { storedMessage } from '../storedValues.js';
import { urlMatcher, type BrowserAction } from './browserEntry.js';
import type { BrowserPool } from './browserPool.js';

/**
 * The `browser` kind (docs/kinds/browser.md): a page opened in the replica's Chromium (browserPool.ts),
 * read one of two ways. `capture`: the JSON responses whose URL matches, each mapped by `select` as a
 * `json` platform's response is, in the order they arrive, until `captureLast` says one was the last, or
 * without it, until none is in flight and none has come for a quiet wait (`captureQuietMs`, 500 ms by default).
 * `dom`: once `dom.waitFor` is on the page, the rendered DOM read with the `html` kind's rows.
 * A wait that runs out is `layout` (the page no longer shows what the entry expects), unless the page is a
 * challenge page (`blocked`); the page as it was then is kept with the failure (PageCapture).
 * Requests: images, fonts and media refused unless `load` names them, the entry's headers and Basic
 * credentials sent to the entry's origin only, forbidden addresses refused.
 */

type BrowserPlatform = Extract<PlatformEntry, { kind: 'browser' }>;

/**
 * Without `captureLast`, once this long has passed with no matching request in flight and no new captured
 * response, the page is read (`captureQuietMs` overrides it): a page that fetches page after page sends the
 * next request within its own script's time of the previous answer, which on a loaded machine can be a few
 * hundred ms, and then more than this: an entry whose API says which page is the last should say so.
 */
const CAPTURE_QUIET_MS = 500;
/** How much longer than the platform's timeout a navigation may take before Playwright ends it itself. */
const NAVIGATION_BACKSTOP_MS = 1_000;
/** A scroll action waits at most this long for the page to grow before it stops scrolling. */
const SCROLL_GROWTH_MS = 2_000;
/** Bounds of what a failed step keeps of its page: as many characters as the store keeps bytes (it cuts again). */
const CAPTURE_HTML_CHARS = PAGE_CAPTURE_LIMITS.htmlBytes;
const CAPTURE_TIMEOUT_MS = 3_000;
/** Console and page errors put on the step's span, at most (a page can log in a loop). */
const MAX_PAGE_ERRORS = 20;
const OPTIONAL_TYPES = new Set(['image', 'font', 'media']);

export function createBrowserAdapter(entry: BrowserPlatform, pool: BrowserPool): PlatformAdapter {
  const select = entry.select === undefined ? undefined : compileExpression(entry.name, 'select', entry.select, entry.timeoutMs);
  const last = entry.captureLast === undefined ? undefined : compileExpression(entry.name, 'captureLast', entry.captureLast, entry.timeoutMs);
  const matches = entry.capture === undefined ? undefined : urlMatcher(entry.capture);
  const secrets = entrySecrets(entry);
  const start = new URL(entry.url);
  const contextOptions: BrowserContextOptions = {};
  if (start.username || start.password) {
    // Basic credentials for the entry's origin alone: Chromium sends them nowhere else.
    contextOptions.httpCredentials = { username: decodeURIComponent(start.username), password: decodeURIComponent(start.password), origin: start.origin, send: 'always' };
    // As the Authorization header carries them: a page that echoes its request shows them so.
    secrets.push(Buffer.from(`${contextOptions.httpCredentials.username}:${contextOptions.httpCredentials.password}`).toString('base64'));
    start.username = '';
    start.password = '';
  }
  return {
    name: entry.name,
    kind: 'browser',
    baseUrl: redactUrl(entry.url),
    timeoutMs: entry.timeoutMs,
    scrape: (signal, onProgress, observer, maxPages = Number.POSITIVE_INFINITY) =>
      pool.withPage(signal, { context: contextOptions }, (page, context) =>
        new BrowserStep(entry, { page, context, signal, secrets, select, last, matches, observer, onProgress, maxPages, span: trace.getActiveSpan() }).run(start.toString()),
      ),
  };
}

interface StepParts {
  page: Page;
  context: BrowserContext;
  signal: AbortSignal;
  secrets: readonly string[];
  select: CompiledExpression | undefined;
  /** `captureLast`: true on the last captured response. */
  last: CompiledExpression | undefined;
  matches: ((url: string) => boolean) | undefined;
  observer: ScrapeObserver;
  onProgress: (progress: ScrapeProgress) => Promise<void>;
  maxPages: number;
  /** The step's span (scrape.platform): page errors go on it as events. */
  span: Span | undefined;
}

/** One step on one page: the state a scrape keeps while the page's events come in. */
class BrowserStep {
  private eventsFound = 0;
  private captured = 0;
  private lastCapturedAt = 0;
  /** `captureLast` held on a captured response: the page has fetched all it will. */
  private complete = false;
  /** Requests matching `capture` sent and not yet answered in full: the page is not read while one is. */
  private pending = 0;
  /** Captured responses are read one at a time, in order (onProgress is awaited before the next). */
  private reading: Promise<void> = Promise.resolve();
  /** The first failure while reading a captured response: the step fails with it. */
  private failure: unknown;
  private crashed = false;
  private forbidden: string | undefined;
  /** The page did not answer in time (a script that never yields): nothing more is asked of it. */
  private unresponsive = false;
  private pageErrors = 0;
  /** Who waits for the next captured response, failure or crash. */
  private readonly changed: (() => void)[] = [];
  private readonly hostChecks = new Map<string, Promise<boolean>>();
  private readonly maxBytes: number;
  private readonly origin: string;

  constructor(
    private readonly entry: BrowserPlatform,
    private readonly parts: StepParts,
  ) {
    this.maxBytes = entry.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    this.origin = new URL(entry.url).origin;
  }

  async run(url: string): Promise<number> {
    const { page, context } = this.parts;
    page.on('crash', () => {
      this.crashed = true;
      this.notify();
    });
    page.on('pageerror', (error) => this.pageError('page.error', error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') this.pageError('page.console_error', message.text());
    });
    await context.route('**/*', (route) => this.route(route));
    const matches = this.parts.matches;
    if (matches) {
      page.on('request', (request) => {
        if (!matches(request.url())) return;
        this.pending += 1;
        this.notify();
      });
      const settled = (request: { url(): string }) => {
        if (!matches(request.url())) return;
        this.pending -= 1;
        this.notify();
      };
      page.on('requestfinished', settled);
      page.on('requestfailed', settled);
      page.on('response', (response) => this.onResponse(response));
    }
    try {
      await this.navigate(url);
      for (const action of this.entry.actions) await this.act(action);
      if (this.entry.dom) await this.readDom(this.entry.dom);
      else await this.readCaptured();
      return this.eventsFound;
    } catch (error) {
      throw await this.failed(error);
    }
  }

  /** Every request of the page: refused resources, forbidden hosts, the entry's headers on its own origin. */
  private async route(route: Route): Promise<void> {
    const request = route.request();
    if (OPTIONAL_TYPES.has(request.resourceType()) && !(this.entry.load as readonly string[]).includes(request.resourceType())) {
      return route.abort('blockedbyclient').catch(() => undefined);
    }
    let url: URL;
    try {
      url = new URL(request.url());
    } catch {
      return route.abort('blockedbyclient').catch(() => undefined);
    }
    if ((url.protocol === 'http:' || url.protocol === 'https:') && (await this.isForbiddenHost(url.hostname))) {
      this.forbidden ??= url.hostname;
      return route.abort('addressunreachable').catch(() => undefined);
    }
    const own = url.origin === this.origin && Object.keys(this.entry.headers).length > 0;
    await (own ? route.continue({ headers: { ...request.headers(), ...this.entry.headers } }) : route.continue()).catch(() => undefined);
  }

  /** Whether `hostname` is or resolves to an address a platform may not reach (one lookup per host and step). */
  private isForbiddenHost(hostname: string): Promise<boolean> {
    const host = hostname.replace(/^\[|\]$/g, '');
    let check = this.hostChecks.get(host);
    if (!check) {
      check =
        isIP(host) !== 0
          ? Promise.resolve(isForbiddenAddress(host))
          : lookup(host, { all: true }).then(
              (addresses) => addresses.some((address) => isForbiddenAddress(address.address)),
              () => false, // Chromium's own lookup fails the same way: a network error, not a refusal.
            );
      this.hostChecks.set(host, check);
    }
    return check;
  }

  private async navigate(url: string): Promise<void> {
    await tracer.startActiveSpan('browser.navigate', { attributes: { 'url.full': redactUrl(url) } }, async (span) => {
      try {
        // A backstop only: the step's own timeout (its signal closes the page) ends a navigation first, and words it.
        const response = await this.parts.page.goto(url, { waitUntil: 'domcontentloaded', timeout: this.entry.timeoutMs + NAVIGATION_BACKSTOP_MS });
        const status = response?.status() ?? 0;
        span.setAttribute('http.response.status_code', status);
        if (status === 403 || (await this.isChallenge())) throw new PlatformError('blocked', status === 403 ? 'the page answered HTTP 403' : 'the page is a challenge page');
        if (status >= 400) throw new PlatformError(reasonForStatus(status), `the page answered HTTP ${status}`);
      } catch (error) {
        recordFailure(span, error, storedMessage(redactText(error instanceof Error ? error.message : String(error), this.parts.secrets)));
        throw error;
      } finally {
        span.end();
      }
    });
  }

  private async act(action: BrowserAction): Promise<void> {
    const { page } = this.parts;
    const timeout = action.timeoutMs ?? this.entry.waitTimeoutMs;
    if ('click' in action) {
      await this.wait(`click ${action.click}`, async () => {
        try {
          await page.click(action.click, { timeout });
        } catch (error) {
          if (!(action.optional && error instanceof errors.TimeoutError)) throw error;
        }
      });
    } else if ('scroll' in action) {
      await this.wait(`scroll ${action.scroll}`, async () => {
        for (let scrolled = 0; scrolled < action.scroll; scrolled += 1) {
          // Expressions as text: they run in the page, whose globals the service's types do not know.
          const height = Number(await page.evaluate('document.documentElement.scrollHeight'));
          await page.evaluate('window.scrollTo(0, document.documentElement.scrollHeight)');
          const grew = await page
            .waitForFunction(`document.documentElement.scrollHeight > ${height}`, undefined, { timeout: Math.min(timeout, SCROLL_GROWTH_MS) })
            .then(() => true, (error: unknown) => (error instanceof errors.TimeoutError ? false : Promise.reject(error)));
          if (!grew) break; // nothing more to load
        }
      });
    } else {
      await this.wait(`wait for ${action.waitFor}`, () => page.waitForSelector(action.waitFor, { state: 'attached', timeout }).then(() => undefined));
    }
  }

  /** One wait on the page in a `browser.wait` span; a wait that runs out is `layout` (or `blocked` on a challenge page). */
  private async wait(what: string, body: () => Promise<void>): Promise<void> {
    await tracer.startActiveSpan('browser.wait', { attributes: { 'oddswatch.browser.wait': what } }, async (span) => {
      try {
        await body();
      } catch (error) {
        if (error instanceof errors.TimeoutError) {
          span.setAttribute('oddswatch.browser.wait_timed_out', true);
          if (await this.isChallenge()) throw new PlatformError('blocked', `the page is a challenge page (${what} timed out)`);
          if (this.unresponsive) throw new PlatformError('timeout', `${what}: the page stopped responding (a script that never yields?)`);
          throw new PlatformError('layout', `${what}: not on the page within its timeout (the page's layout may have changed)`);
        }
        throw error;
      } finally {
        span.end();
      }
    });
  }

  /** DOM mode: once `waitFor` is there, the rendered page read row by row. */
  private async readDom(dom: NonNullable<BrowserPlatform['dom']>): Promise<void> {
    const { page, observer } = this.parts;
    await this.wait(`wait for ${dom.waitFor}`, () => page.waitForSelector(dom.waitFor, { state: 'attached', timeout: this.entry.waitTimeoutMs }).then(() => undefined));
    const html = await page.content();
    if (Buffer.byteLength(html) > this.maxBytes) throw new PlatformError('too_large', `the rendered page is larger than ${this.maxBytes} bytes`);
    const $ = load(html);
    $('template').remove();
    const rows = $(dom.rows.event);
    if (rows.length === 0) {
      if (dom.rows.none !== undefined && $(dom.rows.none).length > 0) return;
      throw new PlatformError('layout', 'no rows match dom.rows.event on the rendered page (the page\'s layout may have changed)');
    }
    const batch: ScrapedSelection[] = [];
    rows.each((index, row) => readRow(dom.rows, this.entry.name, $, $(row), `row ${index + 1}`, batch, observer));
    this.eventsFound = rows.length;
    this.parts.signal.throwIfAborted();
    await this.parts.onProgress({ eventsFound: this.eventsFound, batch });
  }

  /**
   * Capture mode: waits for the first captured response, then reads until no request matching `capture` is
   * in flight and, with `captureLast`, it held on one (no next request for `waitTimeoutMs` is `layout`), or
   * without it, none has answered for the quiet wait. A matching request the page sent that goes unanswered
   * for `waitTimeoutMs` is `timeout` (the API is slow), not `layout` (the page asked for nothing).
   */
  private async readCaptured(): Promise<void> {
    const deadline = Date.now() + this.entry.waitTimeoutMs;
    await this.wait('a response matching capture', async () => {
      while (this.captured === 0 && !this.stopped()) {
        const left = deadline - Date.now();
        if (left <= 0) {
          if (this.pending > 0) throw this.unanswered();
          throw new errors.TimeoutError('no captured response');
        }
        await this.nextChange(left);
      }
    });
    while (!this.stopped() && this.captured < this.parts.maxPages) {
      if (this.pending > 0) {
        if (!(await this.nextChange(this.entry.waitTimeoutMs)) && this.pending > 0) throw this.unanswered();
        continue;
      }
      if (this.complete) break;
      if (this.parts.last !== undefined) {
        // The entry says which response is the last: a pause before the next page is waited out, and a page
        // that stops asking before its last is a failure, never a silently short step.
        if (!(await this.nextChange(this.entry.waitTimeoutMs)) && this.pending === 0 && !this.complete) throw this.stoppedBeforeLast();
        continue;
      }
      const quiet = this.lastCapturedAt + (this.entry.captureQuietMs ?? CAPTURE_QUIET_MS) - Date.now();
      if (quiet <= 0) break;
      await this.nextChange(quiet);
    }
    if (this.crashed) throw new PlatformError('browser', 'the page crashed');
    await this.reading;
    if (this.failure !== undefined) throw this.failure;
  }

  private stoppedBeforeLast(): PlatformError {
    return new PlatformError('layout', `the page asked for nothing more within ${this.entry.waitTimeoutMs} ms (waitTimeoutMs) after ${this.captured} captured responses, none of them the last (captureLast)`);
  }

  private unanswered(): PlatformError {
    return new PlatformError('timeout', `a request matching capture went unanswered for ${this.entry.waitTimeoutMs} ms (waitTimeoutMs)`);
  }

  /** Whether waiting for responses is over: a response failed, the page crashed, or the step was stopped. */
  private stopped(): boolean {
    this.parts.signal.throwIfAborted();
    return this.failure !== undefined || this.crashed;
  }

  /** Resolves true at the next change (a matching request sent or answered, a failure, a crash, the step stopped), false after `ms` without one. */
  private nextChange(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const done = (changed: boolean) => {
        clearTimeout(timer);
        this.parts.signal.removeEventListener('abort', onAbort);
        resolve(changed);
      };
      const onAbort = () => done(true);
      const timer = setTimeout(() => done(false), ms);
      this.parts.signal.addEventListener('abort', onAbort, { once: true });
      this.changed.push(() => done(true));
    });
  }

  private notify(): void {
    for (const done of this.changed.splice(0)) done();
  }

  /** A response of the page: when its URL matches `capture`, read and mapped in order, as a page of the platform. */
  private onResponse(response: Response): void {
    if (!this.parts.matches?.(response.url())) return;
    if (this.captured >= this.parts.maxPages) return;
    this.captured += 1;
    this.lastCapturedAt = Date.now();
    const index = this.captured;
    this.reading = this.reading.then(async () => {
      if (this.failure !== undefined) return;
      try {
        await this.readResponse(response, index);
      } catch (error) {
        this.failure ??= error;
        this.notify();
      }
    });
    this.notify();
  }

  private async readResponse(response: Response, index: number): Promise<void> {
    await tracer.startActiveSpan('browser.capture', { attributes: { 'url.full': redactUrl(response.url()), 'http.response.status_code': response.status(), 'oddswatch.browser.capture_index': index } }, async (span) => {
      try {
        const status = response.status();
        if (status >= 400) throw new PlatformError(reasonForStatus(status), `captured response ${index} answered HTTP ${status}`);
        const length = Number(response.headers()['content-length']);
        if (Number.isFinite(length) && length > this.maxBytes) throw new PlatformError('too_large', `captured response ${index} is larger than ${this.maxBytes} bytes`);
        const body = await response.body();
        span.setAttribute('http.response.body.size', body.length);
        if (body.length > this.maxBytes) throw new PlatformError('too_large', `captured response ${index} is larger than ${this.maxBytes} bytes`);
        const text = body.toString('utf8');
        const data = text.trim() === '' ? undefined : parseJsonBody(text, index);
        const value = await this.parts.select!.evaluate(data, index);
        const items = value === undefined || value === null ? [] : Array.isArray(value) ? value : [value];
        const { batch, events } = collectItems(items, index, this.entry.name, this.parts.observer);
        this.eventsFound += events;
        this.parts.signal.throwIfAborted();
        await this.parts.onProgress({ eventsFound: this.eventsFound, batch });
        if (this.parts.last !== undefined && (await this.parts.last.evaluate(data, index)) === true) {
          span.setAttribute('oddswatch.browser.capture_last', true);
          this.complete = true;
          this.notify();
        }
      } catch (error) {
        recordFailure(span, error, error instanceof PlatformError ? error.message : 'could not read the captured response');
        throw error;
      } finally {
        span.end();
      }
    });
  }

  private async isChallenge(): Promise<boolean> {
    const html = await withTimeout(this.parts.page.content(), CAPTURE_TIMEOUT_MS).catch(() => {
      this.unresponsive = true;
      return '';
    });
    if (this.entry.blockedMarker !== undefined && html.includes(this.entry.blockedMarker)) return true;
    return isChallengePage(html);
  }

  private pageError(event: string, message: string): void {
    if (this.pageErrors >= MAX_PAGE_ERRORS) return;
    this.pageErrors += 1;
    this.parts.span?.addEvent(event, { message: storedMessage(redactText(message, this.parts.secrets)) });
  }

  /** The failure the step records: classified, with the page as it was when the step failed (for a page still there). */
  private async failed(error: unknown): Promise<unknown> {
    if (this.parts.signal.aborted) return error; // the run or the step's timeout: scrapePlatform words it
    let failure: PlatformError;
    if (this.crashed) failure = new PlatformError('browser', 'the page crashed (it may have run out of memory)');
    else if (error instanceof PlatformError) failure = error;
    else if (this.forbidden !== undefined) failure = new PlatformError('forbidden_address', 'the page requested an address a platform may not reach');
    else if (error instanceof errors.TimeoutError) failure = new PlatformError('timeout', 'the page did not load within the platform timeout');
    else if (error instanceof Error && /net::ERR_/.test(error.message)) failure = new PlatformError('network', `the page could not be loaded: ${/net::ERR_[A-Z_]+/.exec(error.message)?.[0]}`);
    else return error;
    if (failure.reason === 'browser' || this.unresponsive) return failure;
    return new PlatformError(failure.reason, failure.message, await this.pageCapture());
  }

  /** The page as it is now: a screenshot and its rendered HTML, bounded, with the entry's secrets masked; undefined when it cannot be read. */
  private async pageCapture(): Promise<PageCapture | undefined> {
    const { page } = this.parts;
    try {
      const [screenshot, html] = await Promise.all([
        withTimeout(page.screenshot({ type: 'png', timeout: CAPTURE_TIMEOUT_MS, animations: 'disabled' }), CAPTURE_TIMEOUT_MS).catch(() => null),
        withTimeout(page.content(), CAPTURE_TIMEOUT_MS),
      ]);
      const masked = redactText(html, this.parts.secrets);
      return { url: redactUrl(page.url()), screenshot, html: masked.slice(0, CAPTURE_HTML_CHARS), htmlTruncated: masked.length > CAPTURE_HTML_CHARS };
    } catch {
      return undefined;
    }
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new errors.TimeoutError(`timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
