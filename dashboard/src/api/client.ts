/**
 * The typed API client: every HTTP call of the dashboard goes through `request`.
 * - adds `Authorization: Bearer <token>` from the operator's credentials (the auth store, given by `setCredentials`)
 *   when a token is stored;
 * - turns error bodies (`{ error: { code, message, details? } }`, `code` one of ERROR_CODES) into a typed `ApiError`;
 * - mutating calls go through `authorized`: when the service requires a token and none is stored,
 *   or the stored one is rejected (401), the operator is asked for it once and the call is retried once.
 */
import type {
  ApiErrorBody,
  JobId,
  MetaInfo,
  OddsPage,
  PlatformHistory,
  PlatformInfo,
  PlatformPreview,
  RunDetail,
  RunHistory,
  RunPage,
  RunStatus,
  RunTrigger,
  SchedulerJob,
  SchedulerState,
  StepCapture,
  TraceDetail,
} from '@contract';
import { ERROR_CODES, type ErrorCode } from '@contract';

export type TokenPromptReason = 'required' | 'rejected';

/** What the client needs of the operator token: the auth store (a layer above, so handed in by `setCredentials`). */
export interface Credentials {
  readonly token: string | null;
  /** From GET /api/meta: mutating routes need the token. */
  readonly authRequired: boolean;
  /** Asks the operator; resolves true once a token is saved, false when cancelled. */
  askForToken(reason: TokenPromptReason): Promise<boolean>;
  forgetToken(): void;
}

const NO_CREDENTIALS: Credentials = { token: null, authRequired: false, askForToken: async () => false, forgetToken: () => {} };
let credentialsOf: () => Credentials = () => NO_CREDENTIALS;

/** Where every call reads the operator's credentials from, read at each call (main.ts: the app's auth store). */
export function setCredentials(source: () => Credentials): void {
  credentialsOf = source;
}

/** Codes the client gives a call that got no error body of the service: unreachable, unreadable, or another HTTP error. */
export type ClientErrorCode = 'network_error' | 'bad_response' | `http_${number}`;

export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    /** HTTP status; 0 when the request never got a response. */
    readonly status: number,
    readonly code: ErrorCode | ClientErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }

  /** A numeric field of `details` (e.g. `activeRunId`, `retriedBy`), or null. */
  detailNumber(key: string): number | null {
    const d = this.details;
    if (d && typeof d === 'object' && key in d) {
      const v = (d as Record<string, unknown>)[key];
      if (typeof v === 'number' && Number.isFinite(v)) return v;
    }
    return null;
  }
}

export const isApiError = (e: unknown, code?: ErrorCode): e is ApiError =>
  e instanceof ApiError && (code === undefined || e.code === code);

/** A human sentence for any thrown value (for toasts). */
export function errorMessage(e: unknown): string {
  if (e instanceof ApiError) return e.message || e.code;
  if (e instanceof Error) return e.message;
  return String(e);
}

type Method = 'GET' | 'POST' | 'PATCH';

function isErrorBody(body: unknown): body is ApiErrorBody {
  if (!body || typeof body !== 'object' || !('error' in body)) return false;
  const err = (body as { error: unknown }).error;
  const code = !!err && typeof err === 'object' ? (err as { code?: unknown }).code : undefined;
  return (ERROR_CODES as readonly unknown[]).includes(code);
}

export async function request<T>(method: Method, path: string, body?: unknown): Promise<T> {
  const auth = credentialsOf();
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (auth.token) headers.Authorization = `Bearer ${auth.token}`;

  let res: Response;
  try {
    res = await globalThis.fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
    });
  } catch (e) {
    throw new ApiError(0, 'network_error', `Cannot reach the service (${e instanceof Error ? e.message : String(e)})`);
  }

  const text = await res.text();
  let parsed: unknown = undefined;
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      if (res.ok) throw new ApiError(res.status, 'bad_response', `Unexpected response from ${path}`);
    }
  }
  if (!res.ok) {
    if (isErrorBody(parsed)) throw new ApiError(res.status, parsed.error.code, parsed.error.message, parsed.error.details);
    throw new ApiError(res.status, `http_${res.status}`, `${method} ${path} failed with HTTP ${res.status}`);
  }
  return parsed as T;
}

/** Runs a mutating call with the operator token, asking for it when needed (once per call). */
export async function authorized<T>(call: () => Promise<T>): Promise<T> {
  const auth = credentialsOf();
  if (auth.authRequired && !auth.token) {
    const ok = await auth.askForToken('required');
    if (!ok) throw new ApiError(401, 'unauthorized', 'An operator token is needed for this action.');
  }
  try {
    return await call();
  } catch (e) {
    if (!isApiError(e, 'unauthorized') && !(isApiError(e) && e.status === 401)) throw e;
    auth.forgetToken();
    const ok = await auth.askForToken('rejected');
    if (!ok) throw e;
    return await call();
  }
}

export interface RunQuery {
  status?: RunStatus;
  trigger?: RunTrigger;
  limit?: number;
  cursor?: string;
}

export interface OddsQuery {
  platform?: string;
  q?: string;
  limit?: number;
  cursor?: string;
}

export interface StartRunBody {
  platforms?: string[];
  observe?: boolean;
  retryOf?: number;
}

function query(params: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

export const api = {
  meta: () => request<MetaInfo>('GET', '/api/meta'),

  listRuns: (q: RunQuery = {}) => request<RunPage>('GET', `/api/runs${query({ ...q })}`),
  getRun: (id: number) => request<RunDetail>('GET', `/api/runs/${id}`),
  activeRun: () => request<{ run: RunDetail | null }>('GET', '/api/runs/active'),
  /** A failed browser step's page at failure (its screenshot is an image URL in it). */
  stepCapture: (runId: number, platform: string) => request<StepCapture>('GET', `/api/runs/${runId}/steps/${encodeURIComponent(platform)}/capture`),
  startRun: (body: StartRunBody) => authorized(() => request<RunDetail>('POST', '/api/runs', body)),
  cancelRun: (id: number) => authorized(() => request<RunDetail>('POST', `/api/runs/${id}/cancel`)),

  platforms: () => request<{ items: PlatformInfo[] }>('GET', '/api/platforms'),
  /** Scrapes the first page of a PLATFORMS_FILE entry, storing nothing (operator token). */
  previewPlatform: (entry: unknown) => authorized(() => request<PlatformPreview>('POST', '/api/platforms/preview', entry)),
  platformHistory: (name: string) => request<PlatformHistory>('GET', `/api/platforms/${encodeURIComponent(name)}/history`),
  runHistory: () => request<RunHistory>('GET', '/api/runs/history'),

  odds: (q: OddsQuery = {}) => request<OddsPage>('GET', `/api/odds${query({ ...q })}`),

  getTrace: (traceId: string) => request<TraceDetail>('GET', `/api/traces/${encodeURIComponent(traceId)}`),

  scheduler: () => request<SchedulerState>('GET', '/api/scheduler'),
  pauseScheduler: () => authorized(() => request<SchedulerState>('POST', '/api/scheduler/pause')),
  resumeScheduler: () => authorized(() => request<SchedulerState>('POST', '/api/scheduler/resume')),
  setJobInterval: (id: JobId, intervalSeconds: number) =>
    authorized(() => request<SchedulerJob>('PATCH', `/api/scheduler/jobs/${id}`, { intervalSeconds })),
  runJob: (id: JobId) =>
    authorized(() => request<{ run: RunDetail } | { staleRunsFailed: number }>('POST', `/api/scheduler/jobs/${id}/run`)),
};

export type Api = typeof api;
