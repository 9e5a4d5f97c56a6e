import { EventEmitter } from 'node:events';
import type { IncomingMessage, Server } from 'node:http';
import { requestPath } from './quietPaths.js';

const plainEmit = EventEmitter.prototype.emit;

/**
 * Requests on the given paths reach the server's listener without passing through the OpenTelemetry HTTP
 * instrumentation, which wraps `http.Server.prototype.emit`. For a request its ignore hook skips, that
 * wrapper still enters a suppressed context and binds the request and response emitters to it, so every
 * listener added later (an SSE subscription adds four) is wrapped too: 12-15% of the time to connect
 * 5,000 event streams (bench:sse). The SDK's ignore hook stays for servers this is not applied to.
 * Without the SDK (emit not wrapped) it changes nothing.
 */
export function bypassInstrumentationFor(server: Server, bypass: (path: string) => boolean): void {
  const instrumented = server.emit;
  if (instrumented === plainEmit) return;
  server.emit = function emit(this: Server, event: string | symbol, ...args: unknown[]): boolean {
    if (event === 'request' && bypass(requestPath((args[0] as IncomingMessage).url))) return plainEmit.apply(this, [event, ...args]);
    return (instrumented as (...all: unknown[]) => boolean).apply(this, [event, ...args]);
  } as Server['emit'];
}

