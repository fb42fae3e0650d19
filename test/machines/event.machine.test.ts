/**
 * The event machine on its own: the test plays the engine (grants slots, reports webhook outcomes and
 * recordings) and checks where the machine goes and what it asks for.
 */
import { describe, expect, test } from 'vitest';
import { createActor } from 'xstate';
import { eventMachine, type AttemptReport, type RecordReport } from '../../machines/event.machine.js';

type Call = { action: string; tries?: number; verdict?: string | null; retryDelayMs?: number; generation?: number };

function start(input: { tries?: number; retryInMs?: number; generation?: number } = {}) {
  const calls: Call[] = [];
  const machine = eventMachine.provide({
    actions: {
      requestSlot: () => void calls.push({ action: 'requestSlot' }),
      leaveQueue: () => void calls.push({ action: 'leaveQueue' }),
      freeSlot: () => void calls.push({ action: 'freeSlot' }),
      callWebhook: ({ context }) => void calls.push({ action: 'callWebhook', tries: context.tries }),
      abortWebhook: () => void calls.push({ action: 'abortWebhook' }),
      recordAttempt: ({ context }) =>
        void calls.push({
          action: 'recordAttempt',
          tries: context.tries,
          verdict: context.verdict,
          retryDelayMs: context.retryDelayMs,
          generation: context.generation,
        }),
      announceSettled: () => void calls.push({ action: 'announceSettled' }),
      letGo: () => void calls.push({ action: 'letGo' }),
      handBack: () => void calls.push({ action: 'handBack' }),
    },
    delays: { retryDelay: () => 5 },
  });
  const actor = createActor(machine, {
    input: { eventId: 'e1', triggerName: 't', ...input, tries: input.tries ?? 0, generation: input.generation ?? 0 },
  });
  actor.start();
  const value = () => actor.getSnapshot().value;
  const respond = (report: Partial<AttemptReport>) =>
    actor.send({
      type: 'WEBHOOK_RESPONDED',
      report: { ok: false, status: 500, retryAfterMs: null, numRetries: 0, backoffMs: 10_000, summary: '', ...report },
    });
  const recorded = (report: RecordReport = { outcome: 'applied', parked: false }) => actor.send({ type: 'RECORDED', report });
  const actions = () => calls.map((c) => c.action);
  const context = () => actor.getSnapshot().context;
  return { actor, calls, actions, context, value, respond, recorded };
}

describe('event machine', () => {
  test('a 2xx is recorded as delivered, then the actor settles', () => {
    const m = start();
    expect(m.value()).toBe('pending');
    m.actor.send({ type: 'START' });
    expect(m.value()).toEqual({ delivering: 'calling' });
    m.respond({ ok: true, status: 200 });
    expect(m.value()).toEqual({ delivering: 'recording' });
    expect(m.calls.at(-1)).toEqual({ action: 'recordAttempt', tries: 1, verdict: 'delivered', retryDelayMs: 0, generation: 0 });
    m.recorded();
    expect(m.value()).toBe('delivered');
    expect(m.calls.map((c) => c.action)).toEqual([
      'requestSlot',
      'leaveQueue',
      'callWebhook',
      'abortWebhook',
      'recordAttempt',
      'freeSlot',
      'announceSettled',
    ]);
  });

  test('attempts in total are num_retries + 1; each call carries current_retry', async () => {
    const m = start();
    for (let attempt = 0; attempt < 3; attempt++) {
      await waitFor(() => m.value() === 'pending');
      m.actor.send({ type: 'START' });
      m.respond({ numRetries: 2, backoffMs: 5 });
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
      m.actor.send({ type: 'REDELIVER', generation: 1 });
      expect(m.value()).toBe('pending');
      expect(m.context()).toMatchObject({ tries: 0, generation: 1 });
    }
  });

  test('REDELIVER during an attempt starts over, at its generation, once the attempt is recorded', () => {
    const m = start();
    m.actor.send({ type: 'START' });
    m.actor.send({ type: 'REDELIVER', generation: 1 });
    expect(m.value()).toEqual({ delivering: 'calling' });
    m.respond({ ok: false, numRetries: 0 });
    // The attempt still carries the generation it started with: its verdict may not apply.
    expect(m.calls.at(-1)).toMatchObject({ action: 'recordAttempt', generation: 0 });
    m.recorded();
    expect(m.value()).toBe('pending');
    expect(m.context()).toMatchObject({ tries: 0, generation: 1, redeliverGeneration: null });
  });

  test('a lost lock or a parked retry releases the event', () => {
    const lost = start();
    lost.actor.send({ type: 'START' });
    lost.respond({ ok: true, status: 200 });
    lost.recorded({ outcome: 'lockLost' });
    expect(lost.value()).toBe('relinquished');
    expect(lost.actor.getSnapshot().status).toBe('done');
    // Another daemon holds it now: nothing to hand back.
    expect(lost.actions()).not.toContain('letGo');

    const parked = start();
    parked.actor.send({ type: 'START' });
    parked.respond({ numRetries: 3 });
    parked.recorded({ outcome: 'applied', parked: true });
    expect(parked.value()).toBe('relinquished');
    expect(parked.actions()).not.toContain('letGo');
  });

  test('a trigger that cannot be found releases the event, and its lock, without counting an attempt', () => {
    const m = start();
    m.actor.send({ type: 'START' });
    m.respond({ triggerGone: true });
    expect(m.value()).toBe('relinquished');
    expect(m.context().tries).toBe(0);
    expect(m.actions()).not.toContain('recordAttempt');
    expect(m.actions()).toContain('letGo');
  });

  test('an outcome that could not be written releases the event and its lock', () => {
    const m = start();
    m.actor.send({ type: 'START' });
    m.respond({ ok: true, status: 200 });
    m.recorded({ outcome: 'notWritten' });
    expect(m.value()).toBe('relinquished');
    expect(m.actions().at(-2)).toBe('letGo');
  });

  test('CANCEL while calling aborts the call and gives the slot back; only drain keeps the lock for its release-all', () => {
    const gone = start();
    gone.actor.send({ type: 'START' });
    gone.actor.send({ type: 'CANCEL', reason: 'triggerGone' });
    expect(gone.value()).toBe('relinquished');
    expect(gone.actions()).toEqual(expect.arrayContaining(['abortWebhook', 'freeSlot', 'letGo']));

    const drained = start();
    drained.actor.send({ type: 'START' });
    drained.actor.send({ type: 'CANCEL', reason: 'drain' });
    expect(drained.value()).toBe('relinquished');
    expect(drained.actions()).toEqual(expect.arrayContaining(['abortWebhook', 'freeSlot']));
    expect(drained.actions()).not.toContain('letGo');
  });

  test('a settled event cancelled hands nothing back: its verdict released the lock', () => {
    const m = start();
    m.actor.send({ type: 'START' });
    m.respond({ ok: true, status: 200 });
    m.recorded();
    m.actor.send({ type: 'CANCEL', reason: 'triggerGone' });
    expect(m.value()).toBe('relinquished');
    expect(m.actions()).not.toContain('letGo');
  });

  test('a REDELIVER not newer than the generation the actor knows is ignored, in every state', () => {
    const m = start({ generation: 3, retryInMs: 60_000, tries: 2 });
    m.actor.send({ type: 'REDELIVER', generation: 3 });
    expect(m.context()).toMatchObject({ tries: 2, generation: 3 });
    m.actor.send({ type: 'RESUME_WAIT' });
    m.actor.send({ type: 'REDELIVER', generation: 2 });
    expect(m.value()).toBe('retryWait');
    m.actor.send({ type: 'REDELIVER', generation: 4 });
    expect(m.value()).toBe('pending');
    expect(m.context()).toMatchObject({ tries: 0, generation: 4 });
    m.actor.send({ type: 'START' });
    m.actor.send({ type: 'REDELIVER', generation: 4 });
    expect(m.context().redeliverGeneration).toBeNull();
  });

  test('an attempt overtaken by a redelivery is superseded: the actor starts over at the new generation', () => {
    const m = start({ tries: 1 });
    m.actor.send({ type: 'START' });
    m.respond({ ok: false, numRetries: 1 });
    expect(m.calls.at(-1)).toMatchObject({ action: 'recordAttempt', verdict: 'error', generation: 0 });
    m.recorded({ outcome: 'superseded', generation: 1 });
    expect(m.value()).toBe('pending');
    expect(m.context()).toMatchObject({ tries: 0, generation: 1, verdict: null });
    // The REDELIVER of that same reset arrives afterwards: not newer, ignored.
    m.actor.send({ type: 'REDELIVER', generation: 1 });
    m.actor.send({ type: 'START' });
    m.respond({ ok: true, status: 200 });
    expect(m.calls.at(-1)).toMatchObject({ action: 'recordAttempt', verdict: 'delivered', tries: 1, generation: 1 });
    m.recorded();
    expect(m.value()).toBe('delivered');
    expect(m.calls.filter((c) => c.action === 'callWebhook').map((c) => c.tries)).toEqual([1, 0]);
  });

  test('superseded after a REDELIVER already received: the newer of the two generations wins', () => {
    const m = start();
    m.actor.send({ type: 'START' });
    m.actor.send({ type: 'REDELIVER', generation: 2 });
    m.respond({ ok: false, numRetries: 0 });
    m.recorded({ outcome: 'superseded', generation: 1 });
    expect(m.value()).toBe('pending');
    expect(m.context()).toMatchObject({ tries: 0, generation: 2, redeliverGeneration: null });
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
