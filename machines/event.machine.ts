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
 * - pending: claimed by this daemon, waiting for a slot of the HTTP pool (the engine's scheduler sends
 *   START, serving each trigger's queue in turn). An event restored from the database while it waited for
 *   a retry is sent RESUME_WAIT instead.
 * - delivering.calling: one POST to the webhook. delivering.recording: the attempt, its verdict and
 *   its invocation log are written to the database; only then does the machine move on.
 * - retryWait: waits its backoff (retry_conf), or the webhook's Retry-After, then queues for a slot again.
 * - delivered: a 2xx was recorded. error: attempts ran out, or the webhook answered 410 Gone. Both accept
 *   REDELIVER (redeliver_event).
 * - relinquished: the event is no longer this daemon's (its lock was taken over, its trigger deleted, its
 *   endpoint's circuit opened, the daemon is draining, or its retry was parked in the database), so the
 *   actor has nothing left to do. If the daemon still holds the event when the actor lets go, the actor
 *   releases it in the database: `handBack` when nothing is wrong with it (its endpoint's circuit is
 *   open: it is due as before), `letGo` when something is (its trigger could not be found, its outcome
 *   could not be written: due again only after a minute, so it cannot loop).
 *
 * Redelivery generations: event_log.redeliveries counts the resets of redeliver_event. The actor carries
 * the count it last saw (`generation`); a REDELIVER carries the count its reset wrote and is ignored
 * unless newer. An attempt's verdict is written only while the count is unchanged; an attempt that a
 * redelivery overtook is recorded as `superseded` (the event reset instead), and the actor starts over
 * with the new count. So whichever of the reset and the attempt's write reaches the row first, the
 * redelivery happens.
 */
import { assign, setup } from 'xstate';

export interface EventMachineInput {
  eventId: string;
  triggerName: string;
  /** Attempts already made (event_log.tries). */
  tries: number;
  /** Restoring an event that was waiting for a retry: ms left until its next attempt. */
  retryInMs?: number;
  /** event_log.redeliveries when claimed. */
  generation: number;
}

/** What one attempt came to, as reported by the engine's webhook call. */
export interface AttemptReport {
  /** A 2xx response. */
  ok: boolean;
  /** HTTP status, or null when no response came (connection error, timeout). */
  status: number | null;
  /** A valid Retry-After on a failed response, in ms: retry then, even past num_retries. */
  retryAfterMs: number | null;
  /** The trigger's num_retries when the attempt was made (a replace may change it between attempts). */
  numRetries: number;
  /** The wait before the next attempt if this one is retried: retry_conf's backoff for it (retryPolicy.ts). */
  backoffMs: number;
  /** The webhook said the event is gone for good (410 Gone): no more attempts. */
  stopRetrying?: boolean;
  /** Set when the trigger no longer exists: nothing was sent. */
  triggerGone?: boolean;
  /** A one-line account, for the inspector and the logs. */
  summary: string;
}

export type Verdict = 'delivered' | 'retry' | 'error';

/** What recording an attempt came to. */
export type RecordReport =
  /** The verdict is the event's state now; `parked`: the retry's lock was released, any daemon fetches it when due. */
  | { outcome: 'applied'; parked: boolean }
  /** The event's lock had passed to another daemon: nothing was applied. */
  | { outcome: 'lockLost' }
  /** Not even the verdict alone could be stored (its data is at fault): nothing was applied, the lock is still held. */
  | { outcome: 'notWritten' }
  /** redeliver_event reset the event while the attempt was under way: the event was reset, not judged. */
  | { outcome: 'superseded'; generation: number };

/** Why the engine cancels an actor. */
export type CancelReason =
  /** The daemon is draining: it releases every lock it holds at once afterwards. */
  | 'drain'
  /** The event's trigger is gone from this daemon's definitions (deleted, or a reload missed it). */
  | 'triggerGone'
  /** The event's endpoint is paused by its circuit breaker: the event waits in the database meanwhile. */
  | 'paused';

export interface EventContext {
  eventId: string;
  triggerName: string;
  tries: number;
  lastAttempt: AttemptReport | null;
  verdict: Verdict | null;
  retryDelayMs: number;
  /** event_log.redeliveries as this actor last knew it: its attempts' verdicts apply only while it holds. */
  generation: number;
  /** A REDELIVER that arrived while an attempt was under way (its generation): start over once recorded. */
  redeliverGeneration: number | null;
}

export type EventMachineEvent =
  /** The engine grants a slot of the HTTP pool. */
  | { type: 'START' }
  /** The webhook call finished (a response, or a network error or timeout). */
  | { type: 'WEBHOOK_RESPONDED'; report: AttemptReport }
  /** The attempt is in the database. */
  | { type: 'RECORDED'; report: RecordReport }
  /** redeliver_event reset the event, to `generation` redeliveries: deliver again from the start. */
  | { type: 'REDELIVER'; generation: number }
  /** Restored from the database while it waited for a retry: wait out the rest (context.retryDelayMs). */
  | { type: 'RESUME_WAIT' }
  /** The event is no longer this daemon's to deliver. */
  | { type: 'CANCEL'; reason: CancelReason };

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
    /** Free the slot. */
    freeSlot: () => {},
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
    /**
     * Release the event in the database, due again only after a while: something kept this daemon from
     * delivering it (its trigger could not be found, its outcome could not be written), and nothing else
     * would ever unlock it.
     */
    letGo: () => {},
    /** Release the event in the database, due as before: it may not be sent now (its circuit is open). */
    handBack: () => {},
    takeReport: assign({
      lastAttempt: ({ event }) => (event.type === 'WEBHOOK_RESPONDED' ? event.report : null),
      tries: ({ context, event }) => (event.type === 'WEBHOOK_RESPONDED' && !event.report.triggerGone ? context.tries + 1 : context.tries),
    }),
    judgeDelivered: assign({ verdict: 'delivered', retryDelayMs: 0 }),
    judgeRetryAfter: assign({
      verdict: 'retry',
      retryDelayMs: ({ event }) => (event.type === 'WEBHOOK_RESPONDED' ? (event.report.retryAfterMs ?? 0) : 0),
    }),
    judgeRetry: assign({
      verdict: 'retry',
      retryDelayMs: ({ event }) => (event.type === 'WEBHOOK_RESPONDED' ? event.report.backoffMs : 0),
    }),
    judgeError: assign({ verdict: 'error', retryDelayMs: 0 }),
    /** REDELIVER outside an attempt: start over at its generation. */
    startOver: assign({
      tries: 0,
      verdict: null,
      redeliverGeneration: null,
      generation: ({ context, event }) => (event.type === 'REDELIVER' ? event.generation : context.generation),
    }),
    /** REDELIVER during an attempt: remembered until the attempt is recorded. */
    requestRedeliver: assign({
      redeliverGeneration: ({ context, event }) =>
        event.type === 'REDELIVER'
          ? Math.max(event.generation, context.redeliverGeneration ?? event.generation)
          : context.redeliverGeneration,
    }),
    /** The attempt was recorded (its verdict applied): now start over for the REDELIVER that came meanwhile. */
    startOverRequested: assign({
      tries: 0,
      verdict: null,
      redeliverGeneration: null,
      generation: ({ context }) => context.redeliverGeneration ?? context.generation,
    }),
    /**
     * A redelivery overtook the attempt: the database reset the event and says its generation; a REDELIVER
     * already received may name a later one (both are committed counts, the larger is the newer).
     */
    adoptGeneration: assign({
      tries: 0,
      verdict: null,
      redeliverGeneration: null,
      generation: ({ context, event }) =>
        event.type === 'RECORDED' && event.report.outcome === 'superseded'
          ? Math.max(event.report.generation, context.redeliverGeneration ?? 0)
          : context.generation,
    }),
  },
  guards: {
    triggerGone: ({ event }) => event.type === 'WEBHOOK_RESPONDED' && event.report.triggerGone === true,
    succeeded: ({ event }) => event.type === 'WEBHOOK_RESPONDED' && event.report.ok,
    /** 410 Gone: the receiver will never take this event (Standard Webhooks). */
    stopRetrying: ({ event }) => event.type === 'WEBHOOK_RESPONDED' && event.report.stopRetrying === true,
    /** A valid Retry-After keeps retrying even past num_retries (as Hasura does). */
    retryAfterGiven: ({ event }) => event.type === 'WEBHOOK_RESPONDED' && event.report.retryAfterMs !== null,
    /** Attempts in total are num_retries + 1: one more remains after this one. */
    attemptsRemain: ({ context, event }) => event.type === 'WEBHOOK_RESPONDED' && context.tries + 1 < event.report.numRetries + 1,
    /** A REDELIVER is acted on only if its reset is newer than what the actor knows. */
    newerGeneration: ({ context, event }) =>
      event.type === 'REDELIVER' && event.generation > Math.max(context.generation, context.redeliverGeneration ?? -1),
    redeliverRequested: ({ context }) => context.redeliverGeneration !== null,
    lockLost: ({ event }) => event.type === 'RECORDED' && event.report.outcome === 'lockLost',
    notWritten: ({ event }) => event.type === 'RECORDED' && event.report.outcome === 'notWritten',
    superseded: ({ event }) => event.type === 'RECORDED' && event.report.outcome === 'superseded',
    parked: ({ event }) => event.type === 'RECORDED' && event.report.outcome === 'applied' && event.report.parked,
    /** Drain releases every lock at once afterwards; any other cancel must release the event's own. */
    cancelledForDrain: ({ event }) => event.type === 'CANCEL' && event.reason === 'drain',
    cancelledForPause: ({ event }) => event.type === 'CANCEL' && event.reason === 'paused',
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
    generation: input.generation,
    redeliverGeneration: null,
  }),
  initial: 'pending',
  on: {
    CANCEL: [
      { guard: 'cancelledForDrain', target: '.relinquished' },
      { guard: 'cancelledForPause', target: '.relinquished', actions: 'handBack' },
      { target: '.relinquished', actions: 'letGo' },
    ],
  },
  states: {
    pending: {
      entry: 'requestSlot',
      exit: 'leaveQueue',
      on: {
        START: 'delivering',
        RESUME_WAIT: 'retryWait',
        REDELIVER: { guard: 'newerGeneration', actions: 'startOver' },
      },
    },
    delivering: {
      initial: 'calling',
      exit: 'freeSlot',
      on: { REDELIVER: { guard: 'newerGeneration', actions: 'requestRedeliver' } },
      states: {
        calling: {
          entry: 'callWebhook',
          exit: 'abortWebhook',
          on: {
            WEBHOOK_RESPONDED: [
              { guard: 'triggerGone', target: '#event.relinquished', actions: ['takeReport', 'letGo'] },
              { guard: 'succeeded', target: 'recording', actions: ['takeReport', 'judgeDelivered'] },
              { guard: 'stopRetrying', target: 'recording', actions: ['takeReport', 'judgeError'] },
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
              { guard: 'lockLost', target: '#event.relinquished' },
              { guard: 'notWritten', target: '#event.relinquished', actions: 'letGo' },
              { guard: 'superseded', target: '#event.pending', actions: 'adoptGeneration' },
              { guard: 'redeliverRequested', target: '#event.pending', actions: 'startOverRequested' },
              { guard: 'parked', target: '#event.relinquished' },
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
      on: { REDELIVER: { guard: 'newerGeneration', target: 'pending', actions: 'startOver' } },
    },
    // Settled: the verdict that settled the event released its lock, so a cancel has nothing to hand back.
    delivered: {
      entry: 'announceSettled',
      on: {
        REDELIVER: { guard: 'newerGeneration', target: 'pending', actions: 'startOver' },
        CANCEL: 'relinquished',
      },
    },
    error: {
      entry: 'announceSettled',
      on: {
        REDELIVER: { guard: 'newerGeneration', target: 'pending', actions: 'startOver' },
        CANCEL: 'relinquished',
      },
    },
    relinquished: {
      entry: 'announceSettled',
      type: 'final',
    },
  },
});

export type EventMachine = typeof eventMachine;
