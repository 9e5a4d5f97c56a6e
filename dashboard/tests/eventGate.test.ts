/** The tab's one de-duplication gate: by global id, by per-run seq, and the stream position it keeps. */
import { describe, expect, it } from 'vitest';
import { createEventGate } from '@/lib/eventGate';
import { ev } from './helpers/fixtures';

describe('event gate', () => {
  it('lets each global id through once and keeps the highest as the stream position', () => {
    const gate = createEventGate();
    expect(gate.lastEventId()).toBeNull();
    const e = ev.completed({ id: 201, seq: 2, runId: 4, platform: 'alpha', platformsDone: 1, eventsFound: 10 });
    expect(gate.accept(e)).toBe(true);
    expect(gate.accept(e)).toBe(false); // replayed after a reconnect
    expect(gate.accept({ ...e, seq: 99 })).toBe(false); // same global id, whatever its seq
    expect(gate.lastEventId()).toBe(201);
  });

  it('drops a run event whose seq is not newer than the last one of that run (out of order)', () => {
    const gate = createEventGate();
    expect(gate.accept(ev.completed({ id: 302, seq: 3, runId: 4, platform: 'alpha', platformsDone: 1, eventsFound: 44 }))).toBe(true);
    expect(gate.accept(ev.progress({ id: 305, seq: 2, runId: 4, platform: 'alpha', eventsFound: 5 }))).toBe(false);
    expect(gate.accept(ev.progress({ id: 306, seq: 1, runId: 5, platform: 'alpha', eventsFound: 5 }))).toBe(true); // another run has its own seqs
    expect(gate.accept(ev.progress({ id: 307, seq: 4, runId: 4, platform: 'bravo', eventsFound: 1 }))).toBe(true);
  });

  it('lets local events (id 0, no seq) through every time', () => {
    const gate = createEventGate();
    const local = { ...ev.scheduler({ id: 0, scheduler: { paused: true, jobs: [] } }) };
    expect(gate.accept(local)).toBe(true);
    expect(gate.accept(local)).toBe(true);
    expect(gate.lastEventId()).toBeNull();
  });

  it('after a resync resumes from the position it names, even a lower one (the service lost its log)', () => {
    const gate = createEventGate();
    gate.accept(ev.completed({ id: 900, seq: 7, runId: 4, platform: 'alpha', platformsDone: 1, eventsFound: 1 }));
    gate.reset(12);
    expect(gate.lastEventId()).toBe(12);
    expect(gate.accept(ev.platformStarted({ id: 13, seq: 1, runId: 4, platform: 'alpha' }))).toBe(true);
  });
});
