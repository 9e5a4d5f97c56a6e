/**
 * A small fake EventSource, injected into useEventStream. A real browser EventSource cannot run in happy-dom
 * against nothing (there is no server here); the e2e suite drives the real one in Chromium against the service.
 * Tests call `open()`, `fail()` and `emit()` to play the server and the network.
 */
import type { EventSourceLike } from '@/composables/useEventStream';

export class FakeEventSource implements EventSourceLike {
  static instances: FakeEventSource[] = [];
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSED = 2;

  static reset() {
    FakeEventSource.instances = [];
  }
  static get last(): FakeEventSource {
    const es = FakeEventSource.instances.at(-1);
    if (!es) throw new Error('no EventSource was created');
    return es;
  }
  /** Instances not closed by the code under test. */
  static get openCount(): number {
    return FakeEventSource.instances.filter((es) => es.readyState !== FakeEventSource.CLOSED).length;
  }

  readyState = FakeEventSource.CONNECTING;
  closed = false;
  readonly listeners = new Map<string, ((event: MessageEvent) => void)[]>();

  constructor(readonly url: string) {
    FakeEventSource.instances.push(this);
  }

  addEventListener(type: string, listener: (event: MessageEvent) => void) {
    const list = this.listeners.get(type) ?? [];
    list.push(listener);
    this.listeners.set(type, list);
  }

  close() {
    this.readyState = FakeEventSource.CLOSED;
    this.closed = true;
  }

  private dispatch(type: string, event: MessageEvent) {
    for (const l of this.listeners.get(type) ?? []) l(event);
  }

  open() {
    this.readyState = FakeEventSource.OPEN;
    this.dispatch('open', new MessageEvent('open'));
  }

  fail() {
    this.readyState = FakeEventSource.CONNECTING;
    this.dispatch('error', new MessageEvent('error'));
  }

  /** Sends one SSE message: `event: type`, `id: id`, `data: JSON`. */
  emit(type: string, data: unknown, id: number | string = '') {
    this.dispatch(type, new MessageEvent(type, { data: typeof data === 'string' ? data : JSON.stringify(data), lastEventId: String(id) }));
  }
}
