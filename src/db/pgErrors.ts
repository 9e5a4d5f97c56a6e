/** PostgreSQL error codes that mean something to oddswatch, mapped in one place. */
export const PG_UNIQUE_VIOLATION = '23505';

export function pgErrorCode(error: unknown): string | undefined {
  const candidate = error as { code?: unknown; cause?: { code?: unknown } } | null;
  if (typeof candidate?.code === 'string' && /^[0-9A-Z]{5}$/.test(candidate.code)) return candidate.code;
  if (typeof candidate?.cause?.code === 'string') return candidate.cause.code;
  return undefined;
}

export function pgConstraint(error: unknown): string | undefined {
  const candidate = error as { constraint?: unknown; cause?: { constraint?: unknown } } | null;
  const constraint = candidate?.constraint ?? candidate?.cause?.constraint;
  return typeof constraint === 'string' ? constraint : undefined;
}

export const isUniqueViolation = (error: unknown, constraint?: string) =>
  pgErrorCode(error) === PG_UNIQUE_VIOLATION && (constraint === undefined || pgConstraint(error) === constraint);

/**
 * True when the database refused a value of the statement rather than the statement being unable to run:
 * data exceptions (class 22: a NUL byte, a numeric overflow, broken JSON), integrity constraint
 * violations (class 23: a check such as odds_price_above_one) and program limits (class 54: an index row
 * too large). Repeating the write cannot help; the value's source must be told.
 */
export function isRefusedValue(error: unknown): boolean {
  const code = pgErrorCode(error);
  return code !== undefined && /^(22|23|54)/.test(code);
}

/**
 * SQLSTATEs that mean "the database cannot serve now": connection exceptions (class 08), statement
 * timeout or cancel (57014), administrator shutdown, crash shutdown, cannot connect now (57P01-57P03),
 * too many connections (53300).
 */
const UNAVAILABLE_SQLSTATE = /^(08...|57014|57P0[123]|53300)$/;
/** Socket-level codes of node and pg when the server is gone, refusing or unreachable. */
const UNAVAILABLE_SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);
/** pg, knex and tarn signal timeouts and dead connections by message only. */
const UNAVAILABLE_MESSAGE =
  /Query read timeout|Timeout acquiring a connection|Connection terminated|connection timeout|timeout expired|not queryable|Connection ended unexpectedly|Client was closed/i;

/**
 * True when `error` (or an error it wraps) says the database is down, frozen, too slow or refusing
 * connections, rather than that this statement was wrong: the API answers 503 `database_unavailable`.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  const seen = new Set<unknown>();
  for (let current = error; current && typeof current === 'object' && !seen.has(current); current = (current as { cause?: unknown }).cause) {
    seen.add(current);
    const candidate = current as { code?: unknown; name?: unknown; message?: unknown };
    if (typeof candidate.code === 'string' && (UNAVAILABLE_SQLSTATE.test(candidate.code) || UNAVAILABLE_SOCKET_CODES.has(candidate.code))) return true;
    // DatabaseDeadlineError: a request's database deadline passed (databaseDeadline.ts).
    if (candidate.name === 'KnexTimeoutError' || candidate.name === 'ConnectionException' || candidate.name === 'TimeoutError' || candidate.name === 'DatabaseDeadlineError') return true;
    if (typeof candidate.message === 'string' && UNAVAILABLE_MESSAGE.test(candidate.message)) return true;
  }
  return false;
}
