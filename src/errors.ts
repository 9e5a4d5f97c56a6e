import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { ErrorCode } from './shared/contract.js';

/** The one error type that reaches clients: a stable code, an HTTP status, a message, optional details. */
export class AppError extends Error {
  override name = 'AppError';
  constructor(
    readonly code: ErrorCode,
    readonly status: ContentfulStatusCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

export const notFound = (what: string) => new AppError('not_found', 404, `${what} not found`);
