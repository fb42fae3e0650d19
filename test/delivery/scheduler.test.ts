/**
 * The scheduler on its own: the test plays the engine (its actors ask for slots, their attempts end) and
 * checks which events get a slot, in what order, and what the next claim may take.
 */
import { describe, expect, test } from 'vitest';
import { Scheduler, type SchedulerHost } from '../../src/delivery/scheduler.js';

function setUp(poolSize: number, gate: SchedulerHost['gate'] = () => 'send') {
  const started: string[] = [];
  const handedBack: string[] = [];
  const scheduler = new Scheduler(poolSize, { gate, start: (id) => started.push(id), handBack: (id) => handedBack.push(id) });
  scheduler.start();
  const settle = () => new Promise<void>((resolve) => queueMicrotask(resolve));
  const enqueue = async (trigger: string, count: number, from = 0) => {
    for (let i = from; i < from + count; i++) scheduler.enqueue(`${trigger}${i}`, trigger);
    await settle();
  };
  const inFlightOf = (trigger: string) => started.filter((id) => id.startsWith(trigger)).length;
  return { scheduler, started, handedBack, settle, enqueue, inFlightOf };
}

describe('scheduler', () => {
  test('a trigger alone uses the whole pool, in arrival order (work-conserving)', async () => {
    const s = setUp(4);
    await s.enqueue('a', 6);
    expect(s.started).toEqual(['a0', 'a1', 'a2', 'a3']);
    s.scheduler.finish('a1');
    await s.settle();
    expect(s.started).toEqual(['a0', 'a1', 'a2', 'a3', 'a4']);
  });

  test('while the pool has room, triggers take turns', async () => {
    const s = setUp(6);
    s.scheduler.stop();
    for (let i = 0; i < 5; i++) s.scheduler.enqueue(`a${i}`, 'a');
    for (let i = 0; i < 5; i++) s.scheduler.enqueue(`b${i}`, 'b');
    s.scheduler.start();
    await s.settle();
    expect(s.started).toEqual(['a0', 'b0', 'a1', 'b1', 'a2', 'b2']);
  });

  test('a hung trigger holding every slot: another trigger still goes out at once, and the hung one gets no more until under its share', async () => {
    const s = setUp(4);
    await s.enqueue('hung', 100);
    expect(s.inFlightOf('hung')).toBe(4);
    await s.enqueue('ok', 1);
    expect(s.started.at(-1)).toBe('ok0');
    // Its share is now 2 of 4: a freed slot of the hung trigger goes to nobody while it holds 3 ...
    s.scheduler.finish('hung0');
    await s.settle();
    expect(s.inFlightOf('hung')).toBe(4);
    // ... while the healthy trigger keeps sending, up to its share and beyond it as slots free up.
    await s.enqueue('ok', 3, 1);
    expect(s.started.filter((id) => id.startsWith('ok'))).toEqual(['ok0', 'ok1']);
    expect(s.scheduler.stats().inFlight).toBe(5);
  });

  test('requests in flight never exceed twice the pool, however many triggers come', async () => {
    const s = setUp(8);
    await s.enqueue('hung', 50);
    for (let t = 0; t < 20; t++) await s.enqueue(`t${t}-`, 5);
    expect(s.scheduler.stats().inFlight).toBeLessThanOrEqual(16);
  });

  test('an event its gate refuses is handed back, not started', async () => {
    const s = setUp(4, (trigger) => (trigger === 'paused' ? 'handBack' : 'send'));
    await s.enqueue('paused', 2);
    await s.enqueue('ok', 1);
    expect(s.handedBack).toEqual(['paused0', 'paused1']);
    expect(s.started).toEqual(['ok0']);
    expect(s.scheduler.held('paused')).toBe(0);
  });

  test('claim rooms: each trigger holding events up to its share of the window, a new one its share too', async () => {
    const s = setUp(10);
    expect(s.scheduler.claimRooms(200, 100, 50)).toEqual({ names: [], rooms: [], defaultRoom: 100 });
    await s.enqueue('a', 180);
    // Alone, a holds up to the whole window: 20 more, under the half batch worth a round trip: none.
    expect(s.scheduler.claimRooms(200, 100, 50)).toEqual({ names: ['a'], rooms: [0], defaultRoom: 100 });
    await s.enqueue('b', 10);
    // Two triggers: shares of 100 each; a holds 180 (it keeps them, but gets no more), b may take 90.
    expect(s.scheduler.claimRooms(200, 100, 50)).toEqual({ names: ['a', 'b'], rooms: [0, 90], defaultRoom: 67 });
    // With many triggers the share shrinks, and so does the size worth fetching.
    for (let t = 0; t < 48; t++) await s.enqueue(`t${t}-`, 1);
    const rooms = s.scheduler.claimRooms(200, 100, 50);
    expect(rooms.rooms[rooms.names.indexOf('t0-')]).toBe(3);
    expect(rooms.defaultRoom).toBe(4);
  });

  test('dequeue and finish keep the books: nothing is held once every event is gone', async () => {
    const s = setUp(2);
    await s.enqueue('a', 3);
    s.scheduler.dequeue('a2');
    s.scheduler.finish('a0');
    s.scheduler.finish('a1');
    await s.settle();
    expect(s.scheduler.stats()).toEqual({ queued: 0, inFlight: 0, triggers: 0 });
    expect(s.scheduler.held('a')).toBe(0);
  });
});
