import jsonata from 'jsonata';
import { PlatformError } from '../adapter.js';
import { PlatformEntryError } from '../platformsFile.js';

/**
 * Bounds on one evaluation. JSONata evaluates on the service's event loop and never yields to it (its
 * awaits are microtasks): while it runs no timer fires, the step's own timeout included, and no other
 * request is served. So every expression carries its own guards, checked by JSONata at each step it takes:
 * a time limit (the step's timeout when shorter), a nesting depth (runaway recursion) and a longest
 * sequence (memory). A single built-in call (a regular expression, a $string of a huge value) is not
 * interrupted; the response's size limit is what bounds those.
 */
export const MAX_EVALUATION_MS = 5_000;
const MAX_DEPTH = 500;
const MAX_SEQUENCE = 500_000;

/** What the guards' codes mean, for a message that says why without quoting anything. */
const GUARD_CODES: Readonly<Record<string, string>> = {
  D1011: `nested deeper than ${MAX_DEPTH} (runaway recursion)`,
  D2014: 'built a range too long',
  D2015: `built a sequence longer than ${MAX_SEQUENCE}`,
};

export interface CompiledExpression {
  /**
   * Evaluates on one response. An error fails the step as `parse`, with the key, JSONata's code and the
   * position in the expression: never its message, which can quote a value from the response.
   */
  evaluate(input: unknown, page: number): Promise<unknown>;
}

/** Compiles once, at start-up: a syntax error is a PlatformEntryError naming the platform, the key and the position. */
export function compileExpression(platform: string, key: string, text: string, stepTimeoutMs: number): CompiledExpression {
  const timeout = Math.min(stepTimeoutMs, MAX_EVALUATION_MS);
  let expression: jsonata.Expression;
  try {
    expression = jsonata(text, { timeout, stack: MAX_DEPTH, sequence: MAX_SEQUENCE });
  } catch (error) {
    // The expression is the operator's own text, not the platform's: its message (quoting a token of it) is safe to show.
    const message = typeof (error as { message?: unknown }).message === 'string' ? `: ${(error as { message: string }).message.slice(0, 200)}` : '';
    throw new PlatformEntryError(`platform ${platform}: ${key}: syntax error${where(error)}${message}`);
  }
  return {
    async evaluate(input, page) {
      try {
        return await expression.evaluate(input);
      } catch (error) {
        const code = codeOf(error);
        const why = code === 'D1012' ? `ran longer than ${timeout} ms` : (code && GUARD_CODES[code]) ?? 'failed';
        throw new PlatformError('parse', `page ${page}: ${key} ${why}${where(error)}`);
      }
    },
  };
}

/** ` at position 25 (JSONata T2002)`: where in the expression and JSONata's code, never a value. */
function where(error: unknown): string {
  const code = codeOf(error);
  const position = (error as { position?: unknown } | null)?.position;
  const at = typeof position === 'number' && Number.isInteger(position) ? ` at position ${position}` : '';
  return `${at} (${code ? `JSONata ${code}` : 'an internal JSONata error'})`;
}

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[A-Z]\d{4}$/.test(code) ? code : undefined;
}
