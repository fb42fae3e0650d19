/**
 * The life of one event: pending → delivering → retryWait → delivered | error.
 *
 * The machine decides; it does no I/O. The delivery engine supplies its actions with
 * `eventMachine.provide(...)`: `callWebhook` and `recordAttempt` start the HTTP call and the database
 * write, and their outcomes come back as events (WEBHOOK_RESPONDED, RECORDED), so every response is
 * visible in the Stately inspector and the machine is tested purely.
 *
 * Why events rather than invoked promise actors: an invoked actor is a child actor with its own
 * AbortController, and measured on this project's machines (2 cores, Node 20) two invokes per event
 * cost ~150 µs of CPU, more than the HTTP call itself. See docs/performance.md.
 *
 * - pending: claimed by this daemon, waiting for a slot of the HTTP pool (the engine sends START). An
 *   event restored from the database while it waited for a retry is sent RESUME_WAIT instead.
 * - delivering.calling: one POST to the webhook. delivering.recording: the attempt, its verdict and
 *   its invocation log are written to the database; only then does the machine move on.
 * - retryWait: waits interval_sec, or the webhook's Retry-After, then queues for a slot again.
 * - delivered: a 2xx was recorded. error: attempts ran out. Both accept REDELIVER (redeliver_event).
 * - released: the event is no longer this daemon's (its lock was taken over, its trigger deleted, the
 *   daemon is draining, or its retry was parked in the database), so the actor has nothing left to do.
 */
import { assign, setup } from 'xstate';

export interface EventMachineInput {
  eventId: string;
  triggerName: string;
  /** Attempts already made (event_log.tries). */
  tries: number;
  /** Restoring an event that was waiting for a retry: ms left until its next attempt. */
  retryInMs?: number;
}

/** What one attempt came to, as reported by the engine's webhook call. */
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
  /** The webhook call finished (a response, or a network error or timeout). */
  | { type: 'WEBHOOK_RESPONDED'; report: AttemptReport }
  /** The attempt is in the database. */
  | { type: 'RECORDED'; report: RecordReport }
  /** redeliver_event: reset the attempts and deliver again. */
  | { type: 'REDELIVER' }
  /** Restored from the database while it waited for a retry: wait out the rest (context.retryDelayMs). */
  | { type: 'RESUME_WAIT' }
  /** The event is no longer this daemon's to deliver (trigger deleted, drain). */
  | { type: 'CANCEL' };

export const eventMachine = setup({
  types: {
    context: {} as EventContext,
    input: {} as EventMachineInput,
    events: {} as EventMachineEvent,
  },
  actions: {
    /** Join the queue for a slot of the HTTP pool. */
    requestSlot: () => {},
    /** Leave that queue (the event goes to wait, or is cancelled, instead). */
    leaveQueue: () => {},
    /** Give the slot back. */
    releaseSlot: () => {},
    /** POST the event to its webhook; the outcome arrives as WEBHOOK_RESPONDED. */
    callWebhook: () => {},
    /** Abandon the call (the actor is leaving `calling` for another reason than a response). */
    abortWebhook: () => {},
    /** Write the attempt and its verdict; the outcome arrives as RECORDED. */
    recordAttempt: () => {},
    /** Counted among the events this daemon keeps waiting in memory. */
    beginWait: () => {},
    endWait: () => {},
    /** Tell the engine the actor is done (it is then stopped and forgotten). */
    announceSettled: () => {},
    takeReport: assign({
      lastAttempt: ({ event }) => (event.type === 'WEBHOOK_RESPONDED' ? event.report : null),
      tries: ({ context, event }) => (event.type === 'WEBHOOK_RESPONDED' && !event.report.triggerGone ? context.tries + 1 : context.tries),
    }),
    judgeDelivered: assign({ verdict: 'delivered', retryDelayMs: 0 }),
    judgeRetryAfter: assign({
      verdict: 'retry',
      retryDelayMs: ({ event }) => (event.type === 'WEBHOOK_RESPONDED' ? event.report.retryAfterMs ?? 0 : 0),
    }),
    judgeRetry: assign({
      verdict: 'retry',
      retryDelayMs: ({ event }) => (event.type === 'WEBHOOK_RESPONDED' ? event.report.intervalMs : 0),
    }),
    judgeError: assign({ verdict: 'error', retryDelayMs: 0 }),
    resetTries: assign({ tries: 0, redeliverRequested: false, verdict: null }),
    requestRedeliver: assign({ redeliverRequested: true }),
  },
  guards: {
    triggerGone: ({ event }) => event.type === 'WEBHOOK_RESPONDED' && event.report.triggerGone === true,
    succeeded: ({ event }) => event.type === 'WEBHOOK_RESPONDED' && event.report.ok,
    /** A valid Retry-After keeps retrying even past num_retries (as Hasura does). */
    retryAfterGiven: ({ event }) => event.type === 'WEBHOOK_RESPONDED' && event.report.retryAfterMs !== null,
    /** Attempts in total are num_retries + 1: one more remains after this one. */
    attemptsRemain: ({ context, event }) =>
      event.type === 'WEBHOOK_RESPONDED' && context.tries + 1 < event.report.numRetries + 1,
    redeliverRequested: ({ context }) => context.redeliverRequested,
    lockLost: ({ event }) => event.type === 'RECORDED' && event.report.lockLost,
    parked: ({ event }) => event.type === 'RECORDED' && event.report.parked,
    verdictDelivered: ({ context }) => context.verdict === 'delivered',
    verdictRetry: ({ context }) => context.verdict === 'retry',
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
  initial: 'pending',
  on: { CANCEL: '.released' },
  states: {
    pending: {
      entry: 'requestSlot',
      exit: 'leaveQueue',
      on: {
        START: 'delivering',
        RESUME_WAIT: 'retryWait',
        REDELIVER: { actions: 'resetTries' },
      },
    },
    delivering: {
      initial: 'calling',
      exit: 'releaseSlot',
      on: { REDELIVER: { actions: 'requestRedeliver' } },
      states: {
        calling: {
          entry: 'callWebhook',
          exit: 'abortWebhook',
          on: {
            WEBHOOK_RESPONDED: [
              { guard: 'triggerGone', target: '#event.released', actions: 'takeReport' },
              { guard: 'succeeded', target: 'recording', actions: ['takeReport', 'judgeDelivered'] },
              { guard: 'retryAfterGiven', target: 'recording', actions: ['takeReport', 'judgeRetryAfter'] },
              { guard: 'attemptsRemain', target: 'recording', actions: ['takeReport', 'judgeRetry'] },
              { target: 'recording', actions: ['takeReport', 'judgeError'] },
            ],
          },
        },
        recording: {
          entry: 'recordAttempt',
          on: {
            RECORDED: [
              { guard: 'lockLost', target: '#event.released' },
              { guard: 'redeliverRequested', target: '#event.pending', actions: 'resetTries' },
              { guard: 'parked', target: '#event.released' },
              { guard: 'verdictDelivered', target: '#event.delivered' },
              { guard: 'verdictRetry', target: '#event.retryWait' },
              { target: '#event.error' },
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
