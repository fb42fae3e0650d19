/**
 * The circuit breaker of one endpoint, as this daemon sees it: closed → open → probing → closed | open.
 *
 * The machine decides; it does no I/O. The engine supplies its actions with `circuitMachine.provide(...)`.
 * The circuit is shared by every daemon on the catalog: opening and closing are written to the database
 * (endpoint_circuits, migration 7) and announced, and what another daemon wrote arrives as OPENED and
 * CLOSED. The claim (claim_due) enforces it there: no daemon claims the events of an open circuit, and
 * once its cool-down is over, one claim of one daemon takes a single event as the probe.
 *
 * - closed: attempts go out. Endpoint failures in a row (no response, a timeout, 5xx, 429) are counted;
 *   any other response resets the count. At `threshold` the circuit opens.
 * - open: nothing is sent to the endpoint. Its events here are handed back to the database without
 *   counting an attempt (`pauseEndpoint`), and no daemon claims more until the cool-down ends.
 * - probing: this daemon's claim took the probe. Its success closes the circuit; its failure opens it
 *   again, for a cool-down twice as long (capped); a probe that ends without an outcome (its event was
 *   cancelled) leaves the circuit open, and its lease lets another daemon probe later.
 */
import { assign, setup } from 'xstate';

export interface CircuitMachineInput {
  /** The webhook as defined (see endpointOf): the circuit's key. */
  endpoint: string;
  /** Failures in a row that open the circuit. */
  threshold: number;
}

export interface CircuitContext {
  endpoint: string;
  threshold: number;
  /** Endpoint failures in a row seen by this daemon while closed. */
  failures: number;
  /** The failure that opened the circuit, or the last one counted. */
  reason: string | null;
  /** While open: when the cool-down ends (epoch ms), as written in the database. */
  openUntil: number | null;
  /** Times opened since the endpoint last worked. */
  openings: number;
  /** The event sent as the probe. */
  probeEventId: string | null;
}

export type CircuitEvent =
  /** An attempt to the endpoint got no response, timed out, or was answered 5xx or 429. */
  | { type: 'ATTEMPT_FAILED'; eventId: string; reason: string }
  /** An attempt was answered with anything else: the endpoint is up. */
  | { type: 'ATTEMPT_ANSWERED'; eventId: string }
  /** The probe's event ended without an attempt (cancelled, handed back). */
  | { type: 'ATTEMPT_ABANDONED'; eventId: string }
  /** This daemon's claim took the probe. */
  | { type: 'PROBE_CLAIMED'; eventId: string }
  /** The database says the circuit is open (written by this daemon or another). */
  | { type: 'OPENED'; openUntil: number; openings: number; reason: string }
  /** The database says the circuit is closed. */
  | { type: 'CLOSED' };

export const circuitMachine = setup({
  types: {
    context: {} as CircuitContext,
    input: {} as CircuitMachineInput,
    events: {} as CircuitEvent,
  },
  actions: {
    /** Write the opening (or re-opening) to the database and announce it; the result comes back as OPENED. */
    persistOpen: () => {},
    /** Delete the circuit's row and announce it. */
    persistClose: () => {},
    /** Hand back this daemon's queued and waiting events of the endpoint's triggers. */
    pauseEndpoint: () => {},
    /** Log the opening with its cool-down: operators see every change. */
    reportOpened: () => {},
    reportClosed: () => {},
    countFailure: assign({
      failures: ({ context }) => context.failures + 1,
      reason: ({ context, event }) => (event.type === 'ATTEMPT_FAILED' ? event.reason : context.reason),
    }),
    resetFailures: assign({ failures: 0, reason: null, openUntil: null, openings: 0, probeEventId: null }),
    adoptOpening: assign({
      openUntil: ({ context, event }) => (event.type === 'OPENED' ? event.openUntil : context.openUntil),
      openings: ({ context, event }) => (event.type === 'OPENED' ? event.openings : context.openings),
      reason: ({ context, event }) => (event.type === 'OPENED' ? event.reason : context.reason),
      failures: 0,
    }),
    rememberProbe: assign({ probeEventId: ({ event }) => (event.type === 'PROBE_CLAIMED' ? event.eventId : null) }),
    forgetProbe: assign({ probeEventId: null }),
    rememberFailure: assign({ reason: ({ context, event }) => (event.type === 'ATTEMPT_FAILED' ? event.reason : context.reason) }),
  },
  guards: {
    /** This failure is the threshold-th in a row. */
    thresholdReached: ({ context }) => context.failures + 1 >= context.threshold,
    isProbe: ({ context, event }) => 'eventId' in event && event.eventId === context.probeEventId,
    /** An OPENED that says something new (this daemon also hears its own announcements). */
    newOpening: ({ context, event }) =>
      event.type === 'OPENED' && (event.openUntil !== context.openUntil || event.openings !== context.openings),
  },
}).createMachine({
  id: 'circuit',
  context: ({ input }) => ({
    endpoint: input.endpoint,
    threshold: input.threshold,
    failures: 0,
    reason: null,
    openUntil: null,
    openings: 0,
    probeEventId: null,
  }),
  initial: 'closed',
  states: {
    closed: {
      on: {
        ATTEMPT_FAILED: [
          { guard: 'thresholdReached', target: 'open', actions: ['countFailure', 'persistOpen'] },
          { actions: 'countFailure' },
        ],
        ATTEMPT_ANSWERED: { actions: 'resetFailures' },
        OPENED: { target: 'open', actions: ['adoptOpening', 'reportOpened'] },
        // The claim found the circuit open (this daemon missed the news) and gave it the probe.
        PROBE_CLAIMED: { target: 'probing', actions: 'rememberProbe' },
      },
    },
    open: {
      entry: 'pauseEndpoint',
      on: {
        // The write of this daemon's opening, or a later one (another daemon's) that moved open_until.
        OPENED: { guard: 'newOpening', actions: ['adoptOpening', 'reportOpened'] },
        CLOSED: { target: 'closed', actions: ['resetFailures', 'reportClosed'] },
        PROBE_CLAIMED: { target: 'probing', actions: 'rememberProbe' },
      },
    },
    probing: {
      on: {
        ATTEMPT_ANSWERED: { guard: 'isProbe', target: 'closed', actions: ['resetFailures', 'persistClose', 'reportClosed'] },
        ATTEMPT_FAILED: { guard: 'isProbe', target: 'open', actions: ['rememberFailure', 'forgetProbe', 'persistOpen'] },
        ATTEMPT_ABANDONED: { guard: 'isProbe', target: 'open', actions: 'forgetProbe' },
        OPENED: { guard: 'newOpening', target: 'open', actions: ['adoptOpening', 'forgetProbe', 'reportOpened'] },
        CLOSED: { target: 'closed', actions: ['resetFailures', 'reportClosed'] },
      },
    },
  },
});

export type CircuitMachine = typeof circuitMachine;
