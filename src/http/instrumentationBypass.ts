import { EventEmitter } from 'node:events';
import type { IncomingMessage, Server } from 'node:http';

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
    if (event === 'request' && bypass(pathOf(args[0] as IncomingMessage))) return plainEmit.apply(this, [event, ...args]);
    return (instrumented as (...all: unknown[]) => boolean).apply(this, [event, ...args]);
  } as Server['emit'];
}

function pathOf(request: IncomingMessage): string {
  const url = request.url ?? '';
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}
