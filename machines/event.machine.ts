/**
 * The life of one event: pending → delivering → retryWait → delivered | error.
 *
 * The machine decides; it does no I/O. Its actors (`callWebhook`, `recordAttempt`) and its bookkeeping
 * actions (`requestSlot`, `releaseSlot`, ...) are supplied by the delivery engine with
 * `eventMachine.provide(...)`, so this file renders cleanly in the Stately inspector and is tested purely.
 *
 * - pending: claimed by this daemon, waiting for one of the HTTP pool's slots (the engine sends START).
 * - delivering.calling: one POST to the webhook. delivering.recording: that attempt, its verdict and its
 *   invocation log are written to the database; only then does the machine move on.
 * - retryWait: waits interval_sec, or the webhook's Retry-After, then queues for a slot again.
 * - delivered: a 2xx was recorded. error: attempts ran out. Both accept REDELIVER (redeliver_event).
 * - released: the event is no longer this daemon's (its lock was taken over, or it was parked in the
 *   database to wait for a distant retry), so the actor has nothing left to do.
 */
import { assign, fromPromise, setup } from 'xstate';

export interface EventMachineInput {
  eventId: string;
  triggerName: string;
  /** Attempts already made (event_log.tries). */
  tries: number;
  /** Restoring an event that was waiting for a retry: ms left until its next attempt. */
  retryInMs?: number;
}

/** What one attempt came to, as reported by the callWebhook actor. */
export interface AttemptReport {
  /** A 2xx response. */
  ok: boolean;
  /** HTTP status, or null when no response came (connection error, timeout). */
  status: number | null;
  /** A valid Retry-After on a failed response, in ms: retry then, even past num_retries. */
  retryAfterMs: number | null;
  /** The trigger's retry_conf when the attempt was made (a replace may change it between attempts). */
  numRetries: number;
  intervalMs: number;
  /** Set when the trigger no longer exists: nothing was sent. */
  triggerGone?: boolean;
  /** A one-line account, for the inspector and the logs. */
  summary: string;
}

export type Verdict = 'delivered' | 'retry' | 'error';

/** What recording an attempt came to. */
export interface RecordReport {
  /** The event's lock had passed to another daemon: this attempt's verdict was not applied. */
  lockLost: boolean;
  /** The retry was parked in the database (the lock released) rather than waited for here. */
  parked: boolean;
}

export interface EventContext {
  eventId: string;
  triggerName: string;
  tries: number;
  lastAttempt: AttemptReport | null;
  verdict: Verdict | null;
  retryDelayMs: number;
  /** redeliver_event arrived while an attempt was under way: start over once it is recorded. */
  redeliverRequested: boolean;
}

export type EventMachineEvent =
  /** The engine grants a slot of the HTTP pool. */
  | { type: 'START' }
  /** redeliver_event: reset the attempts and deliver again. */
  | { type: 'REDELIVER' };

export interface CallWebhookInput {
  eventId: string;
  triggerName: string;
  /** Attempts made before this one: delivery_info.current_retry. */
  currentRetry: number;
}

export interface RecordAttemptInput {
  eventId: string;
  tries: number;
  verdict: Verdict;
  retryDelayMs: number;
}

/** Placeholders: the engine provides the real implementations (see src/delivery/eventActors.ts). */
const unprovided = <Output, Input>(name: string) =>
  fromPromise<Output, Input>(async () => {
    throw new Error(`event machine: "${name}" must be provided`);
  });

export const eventMachine = setup({
  types: {
    context: {} as EventContext,
    input: {} as EventMachineInput,
    events: {} as EventMachineEvent,
  },
  actions: {
    /** Join the queue for a slot of the HTTP pool. */
    requestSlot: () => {},
    /** Give the slot back. */
    releaseSlot: () => {},
    /** Counted among the events this daemon keeps waiting in memory. */
    beginWait: () => {},
    endWait: () => {},
    /** Tell the engine the actor is done (it is then stopped and forgotten). */
    announceSettled: () => {},
    countAttempt: assign({
      tries: ({ context }) => context.tries + 1,
    }),
    /** Drop the response of the attempt once recorded: a waiting actor keeps no bodies in memory. */
    forgetAttempt: assign({ lastAttempt: null }),
    resetTries: assign({ tries: 0, redeliverRequested: false, verdict: null }),
    requestRedeliver: assign({ redeliverRequested: true }),
  },
  guards: {
    isWaitingForRetry: ({ context }) => context.retryDelayMs > 0,
    succeeded: ({ context }) => context.lastAttempt?.ok === true,
    triggerGone: ({ context }) => context.lastAttempt?.triggerGone === true,
    /** A valid Retry-After keeps retrying even past num_retries (as Hasura does). */
    retryAfterGiven: ({ context }) => context.lastAttempt?.retryAfterMs != null,
    /** Attempts in total are num_retries + 1; context.tries already counts this one. */
    attemptsRemain: ({ context }) => context.tries < (context.lastAttempt?.numRetries ?? 0) + 1,
    redeliverRequested: ({ context }) => context.redeliverRequested,
    lockLost: (_, params: RecordReport) => params.lockLost,
    parked: (_, params: RecordReport) => params.parked,
    verdictDelivered: ({ context }) => context.verdict === 'delivered',
    verdictRetry: ({ context }) => context.verdict === 'retry',
  },
  actors: {
    callWebhook: unprovided<AttemptReport, CallWebhookInput>('callWebhook'),
    recordAttempt: unprovided<RecordReport, RecordAttemptInput>('recordAttempt'),
  },
  delays: {
    retryDelay: ({ context }) => context.retryDelayMs,
  },
}).createMachine({
  id: 'event',
  context: ({ input }) => ({
    eventId: input.eventId,
    triggerName: input.triggerName,
    tries: input.tries,
    lastAttempt: null,
    verdict: null,
    retryDelayMs: input.retryInMs ?? 0,
    redeliverRequested: false,
  }),
  initial: 'claimed',
  states: {
    /** Just fetched or restored from the database: resume where the database says the event is. */
    claimed: {
      always: [{ guard: 'isWaitingForRetry', target: 'retryWait' }, { target: 'pending' }],
    },
    pending: {
      entry: 'requestSlot',
      on: {
        START: 'delivering',
        REDELIVER: { actions: 'resetTries' },
      },
    },
    delivering: {
      initial: 'calling',
      exit: 'releaseSlot',
      on: { REDELIVER: { actions: 'requestRedeliver' } },
      states: {
        calling: {
          invoke: {
            src: 'callWebhook',
            input: ({ context }) => ({
              eventId: context.eventId,
              triggerName: context.triggerName,
              currentRetry: context.tries,
            }),
            onDone: [
              {
                guard: 'triggerGone',
                target: '#event.released',
                actions: assign({ lastAttempt: ({ event }) => event.output }),
              },
              {
                target: 'judging',
                actions: [assign({ lastAttempt: ({ event }) => event.output }), 'countAttempt'],
              },
            ],
            onError: {
              // The actor itself failed (a bug, not a webhook failure): count it as a failed attempt.
              target: 'judging',
              actions: [
                assign({
                  lastAttempt: ({ context, event }) => ({
                    ok: false,
                    status: null,
                    retryAfterMs: null,
                    numRetries: context.lastAttempt?.numRetries ?? 0,
                    intervalMs: context.lastAttempt?.intervalMs ?? 10_000,
                    summary: `internal error: ${String((event.error as Error)?.message ?? event.error)}`,
                  }),
                }),
                'countAttempt',
              ],
            },
          },
        },
        /** Decides what the attempt means, before it is recorded with that verdict. */
        judging: {
          always: [
            { guard: 'succeeded', target: 'recording', actions: assign({ verdict: 'delivered', retryDelayMs: 0 }) },
            {
              guard: 'retryAfterGiven',
              target: 'recording',
              actions: assign({ verdict: 'retry', retryDelayMs: ({ context }) => context.lastAttempt!.retryAfterMs! }),
            },
            {
              guard: 'attemptsRemain',
              target: 'recording',
              actions: assign({ verdict: 'retry', retryDelayMs: ({ context }) => context.lastAttempt!.intervalMs }),
            },
            { target: 'recording', actions: assign({ verdict: 'error', retryDelayMs: 0 }) },
          ],
        },
        recording: {
          invoke: {
            src: 'recordAttempt',
            input: ({ context }) => ({
              eventId: context.eventId,
              tries: context.tries,
              verdict: context.verdict!,
              retryDelayMs: context.retryDelayMs,
            }),
            onDone: [
              { guard: { type: 'lockLost', params: ({ event }) => event.output }, target: '#event.released' },
              { guard: 'redeliverRequested', target: '#event.pending', actions: ['forgetAttempt', 'resetTries'] },
              { guard: { type: 'parked', params: ({ event }) => event.output }, target: '#event.released' },
              { guard: 'verdictDelivered', target: '#event.delivered', actions: 'forgetAttempt' },
              { guard: 'verdictRetry', target: '#event.retryWait', actions: 'forgetAttempt' },
              { target: '#event.error', actions: 'forgetAttempt' },
            ],
          },
        },
      },
    },
    retryWait: {
      entry: 'beginWait',
      exit: 'endWait',
      after: { retryDelay: 'pending' },
      on: { REDELIVER: { target: 'pending', actions: 'resetTries' } },
    },
    delivered: {
      entry: 'announceSettled',
      on: { REDELIVER: { target: 'pending', actions: 'resetTries' } },
    },
    error: {
      entry: 'announceSettled',
      on: { REDELIVER: { target: 'pending', actions: 'resetTries' } },
    },
    released: {
      entry: 'announceSettled',
      type: 'final',
    },
  },
});

export type EventMachine = typeof eventMachine;
