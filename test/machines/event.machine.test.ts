/**
 * The event machine on its own: the test plays the engine (grants slots, reports webhook outcomes and
 * recordings) and checks where the machine goes and what it asks for.
 */
import { describe, expect, test } from 'vitest';
import { createActor } from 'xstate';
import { eventMachine, type AttemptReport, type RecordReport } from '../../machines/event.machine.js';

type Call = { action: string; tries?: number; verdict?: string | null; retryDelayMs?: number };

function start(input: { tries?: number; retryInMs?: number } = {}) {
  const calls: Call[] = [];
  const machine = eventMachine.provide({
    actions: {
      requestSlot: () => void calls.push({ action: 'requestSlot' }),
      leaveQueue: () => void calls.push({ action: 'leaveQueue' }),
      releaseSlot: () => void calls.push({ action: 'releaseSlot' }),
      callWebhook: ({ context }) => void calls.push({ action: 'callWebhook', tries: context.tries }),
      abortWebhook: () => void calls.push({ action: 'abortWebhook' }),
      recordAttempt: ({ context }) =>
        void calls.push({ action: 'recordAttempt', tries: context.tries, verdict: context.verdict, retryDelayMs: context.retryDelayMs }),
      announceSettled: () => void calls.push({ action: 'announceSettled' }),
    },
    delays: { retryDelay: () => 5 },
  });
  const actor = createActor(machine, { input: { eventId: 'e1', triggerName: 't', tries: input.tries ?? 0, ...input } });
  actor.start();
  const value = () => actor.getSnapshot().value;
  const respond = (report: Partial<AttemptReport>) =>
    actor.send({
      type: 'WEBHOOK_RESPONDED',
      report: { ok: false, status: 500, retryAfterMs: null, numRetries: 0, intervalMs: 10_000, summary: '', ...report },
    });
  const recorded = (report: Partial<RecordReport> = {}) =>
    actor.send({ type: 'RECORDED', report: { lockLost: false, parked: false, ...report } });
  return { actor, calls, value, respond, recorded };
}

describe('event machine', () => {
  test('a 2xx is recorded as delivered, then the actor settles', () => {
    const m = start();
    expect(m.value()).toBe('pending');
    m.actor.send({ type: 'START' });
    expect(m.value()).toEqual({ delivering: 'calling' });
    m.respond({ ok: true, status: 200 });
    expect(m.value()).toEqual({ delivering: 'recording' });
    expect(m.calls.at(-1)).toEqual({ action: 'recordAttempt', tries: 1, verdict: 'delivered', retryDelayMs: 0 });
    m.recorded();
    expect(m.value()).toBe('delivered');
    expect(m.calls.map((c) => c.action)).toEqual([
      'requestSlot', 'leaveQueue', 'callWebhook', 'abortWebhook', 'recordAttempt', 'releaseSlot', 'announceSettled',
    ]);
  });

  test('attempts in total are num_retries + 1; each call carries current_retry', async () => {
    const m = start();
    for (let attempt = 0; attempt < 3; attempt++) {
      await waitFor(() => m.value() === 'pending');
      m.actor.send({ type: 'START' });
      m.respond({ numRetries: 2, intervalMs: 5 });
      m.recorded();
    }
    expect(m.value()).toBe('error');
    const callTries = m.calls.filter((c) => c.action === 'callWebhook').map((c) => c.tries);
    expect(callTries).toEqual([0, 1, 2]);
    const verdicts = m.calls.filter((c) => c.action === 'recordAttempt').map((c) => c.verdict);
    expect(verdicts).toEqual(['retry', 'retry', 'error']);
  });

  test('a Retry-After keeps retrying past num_retries, with its delay', () => {
    const m = start({ tries: 5 });
    m.actor.send({ type: 'START' });
    m.respond({ numRetries: 0, retryAfterMs: 2500, status: 429 });
    expect(m.calls.at(-1)).toMatchObject({ verdict: 'retry', retryDelayMs: 2500, tries: 6 });
    m.recorded();
    expect(m.value()).toBe('retryWait');
  });

  test('REDELIVER from error and from delivered resets tries and queues again', () => {
    for (const ok of [false, true]) {
      const m = start();
      m.actor.send({ type: 'START' });
      m.respond({ ok, status: ok ? 200 : 500 });
      m.recorded();
      expect(m.value()).toBe(ok ? 'delivered' : 'error');
      m.actor.send({ type: 'REDELIVER' });
      expect(m.value()).toBe('pending');
      expect(m.actor.getSnapshot().context.tries).toBe(0);
    }
  });

  test('REDELIVER during an attempt starts over once the attempt is recorded', () => {
    const m = start();
    m.actor.send({ type: 'START' });
    m.actor.send({ type: 'REDELIVER' });
    expect(m.value()).toEqual({ delivering: 'calling' });
    m.respond({ ok: false, numRetries: 0 });
    m.recorded();
    expect(m.value()).toBe('pending');
    expect(m.actor.getSnapshot().context.tries).toBe(0);
  });

  test('a lost lock or a parked retry releases the event', () => {
    const lost = start();
    lost.actor.send({ type: 'START' });
    lost.respond({ ok: true, status: 200 });
    lost.recorded({ lockLost: true });
    expect(lost.value()).toBe('released');
    expect(lost.actor.getSnapshot().status).toBe('done');

    const parked = start();
    parked.actor.send({ type: 'START' });
    parked.respond({ numRetries: 3 });
    parked.recorded({ parked: true });
    expect(parked.value()).toBe('released');
  });

  test('a deleted trigger releases the event without counting an attempt', () => {
    const m = start();
    m.actor.send({ type: 'START' });
    m.respond({ triggerGone: true });
    expect(m.value()).toBe('released');
    expect(m.actor.getSnapshot().context.tries).toBe(0);
    expect(m.calls.some((c) => c.action === 'recordAttempt')).toBe(false);
  });

  test('CANCEL while calling aborts the call and gives the slot back', () => {
    const m = start();
    m.actor.send({ type: 'START' });
    m.actor.send({ type: 'CANCEL' });
    expect(m.value()).toBe('released');
    expect(m.calls.map((c) => c.action)).toContain('abortWebhook');
    expect(m.calls.map((c) => c.action)).toContain('releaseSlot');
  });

  test('an event restored while waiting resumes its wait, then queues for a slot', async () => {
    const m = start({ tries: 2, retryInMs: 5 });
    m.actor.send({ type: 'RESUME_WAIT' });
    expect(m.value()).toBe('retryWait');
    await waitFor(() => m.value() === 'pending');
    expect(m.calls.filter((c) => c.action === 'requestSlot')).toHaveLength(2);
  });
});

async function waitFor(check: () => boolean, ms = 1000) {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 1));
  }
}
