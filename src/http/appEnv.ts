import type { HttpBindings } from '@hono/node-server';
import type { Logger } from 'pino';

/** The one context type of the app: node bindings plus the request's own variables. */
export interface AppEnv {
  Bindings: HttpBindings;
  Variables: {
    logger: Logger;
    /** The client address the per-client limits count by (clientAddress.ts), on /api routes. */
    client: string;
  };
}
