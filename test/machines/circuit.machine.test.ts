/** The circuit machine on its own: the test plays the engine and the database. */
import { describe, expect, test } from 'vitest';
import { createActor } from 'xstate';
import { circuitMachine } from '../../machines/circuit.machine.js';

function start(threshold = 3) {
  const calls: string[] = [];
  const machine = circuitMachine.provide({
    actions: {
      persistOpen: () => void calls.push('persistOpen'),
      persistClose: () => void calls.push('persistClose'),
      pauseEndpoint: () => void calls.push('pauseEndpoint'),
      reportOpened: () => void calls.push('reportOpened'),
      reportClosed: () => void calls.push('reportClosed'),
    },
  });
  const actor = createActor(machine, { input: { endpoint: 'http://hook', threshold } });
  actor.start();
  const fail = (eventId = 'e') => actor.send({ type: 'ATTEMPT_FAILED', eventId, reason: 'HTTP 503' });
  return { actor, calls, fail, value: () => actor.getSnapshot().value, context: () => actor.getSnapshot().context };
}

describe('circuit machine', () => {
  test('opens at the threshold of failures in a row; an answer in between starts the count again', () => {
    const m = start(3);
    m.fail();
    m.fail();
    m.actor.send({ type: 'ATTEMPT_ANSWERED', eventId: 'e' });
    m.fail();
    m.fail();
    expect(m.value()).toBe('closed');
    m.fail();
    expect(m.value()).toBe('open');
    expect(m.calls).toEqual(['persistOpen', 'pauseEndpoint']);
    // The database's answer: until when, reported once even though the daemon hears its own announcement.
    m.actor.send({ type: 'OPENED', openUntil: 1000, openings: 1, reason: 'HTTP 503' });
    m.actor.send({ type: 'OPENED', openUntil: 1000, openings: 1, reason: 'HTTP 503' });
    expect(m.calls).toEqual(['persistOpen', 'pauseEndpoint', 'reportOpened']);
    expect(m.context()).toMatchObject({ openUntil: 1000, openings: 1, reason: 'HTTP 503' });
  });

  test('only the probe decides: failures and answers of other events while open change nothing', () => {
    const m = start(1);
    m.fail('a');
    m.actor.send({ type: 'OPENED', openUntil: 1000, openings: 1, reason: 'x' });
    m.actor.send({ type: 'ATTEMPT_ANSWERED', eventId: 'straggler' });
    expect(m.value()).toBe('open');
    m.actor.send({ type: 'PROBE_CLAIMED', eventId: 'p' });
    expect(m.value()).toBe('probing');
    m.actor.send({ type: 'ATTEMPT_ANSWERED', eventId: 'straggler' });
    expect(m.value()).toBe('probing');
    m.actor.send({ type: 'ATTEMPT_ANSWERED', eventId: 'p' });
    expect(m.value()).toBe('closed');
    expect(m.calls.slice(-2)).toEqual(['persistClose', 'reportClosed']);
    expect(m.context()).toMatchObject({ failures: 0, openings: 0, probeEventId: null });
  });

  test('a failed probe opens it again (the database doubles the cool-down); an abandoned one leaves it open', () => {
    const m = start(1);
    m.fail('a');
    m.actor.send({ type: 'OPENED', openUntil: 1000, openings: 1, reason: 'x' });
    m.actor.send({ type: 'PROBE_CLAIMED', eventId: 'p1' });
    m.fail('p1');
    expect(m.value()).toBe('open');
    expect(m.calls.filter((c) => c === 'persistOpen')).toHaveLength(2);
    m.actor.send({ type: 'OPENED', openUntil: 3000, openings: 2, reason: 'HTTP 503' });
    m.actor.send({ type: 'PROBE_CLAIMED', eventId: 'p2' });
    m.actor.send({ type: 'ATTEMPT_ABANDONED', eventId: 'p2' });
    expect(m.value()).toBe('open');
    expect(m.calls.filter((c) => c === 'persistOpen')).toHaveLength(2);
  });

  test('a probe claimed while this daemon still thought the circuit closed is a probe all the same', () => {
    const m = start(5);
    m.actor.send({ type: 'PROBE_CLAIMED', eventId: 'p' });
    expect(m.value()).toBe('probing');
    m.actor.send({ type: 'ATTEMPT_ANSWERED', eventId: 'p' });
    expect(m.value()).toBe('closed');
    expect(m.calls).toContain('persistClose');
  });

  test("another daemon's opening and closing are adopted", () => {
    const m = start(5);
    m.actor.send({ type: 'OPENED', openUntil: 5000, openings: 3, reason: 'timeout' });
    expect(m.value()).toBe('open');
    expect(m.calls).toEqual(['reportOpened', 'pauseEndpoint']);
    m.actor.send({ type: 'CLOSED' });
    expect(m.value()).toBe('closed');
    expect(m.calls.at(-1)).toBe('reportClosed');
  });
});
