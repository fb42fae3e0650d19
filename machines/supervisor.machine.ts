/**
 * The daemon's life: booting → restoring → running → draining → stopped (or failed).
 *
 * - booting: migrate the catalog, load the triggers, register this instance, LISTEN. Waits for the
 *   database while it is unreachable; fails only on what waiting cannot fix (a wrong password, a missing
 *   environment variable).
 * - restoring: rebuild the actors of the events that the database says were in flight or waiting when
 *   their daemon (this one's previous life, or another) went away.
 * - running: fetch and deliver, woken by NOTIFY; keep taking over the events of daemons that go away;
 *   clean the event logs when a scheduled cleanup falls due (cleanLogs).
 * - draining: on SIGTERM/SIGINT, stop fetching, let deliveries in flight finish (up to a timeout), and
 *   release every event still held.
 *
 * The implementations are provided by src/daemon.ts.
 */
import { assign, fromCallback, fromPromise, setup } from 'xstate';

export interface SupervisorContext {
  /** Why booting failed, or what went wrong while draining. */
  error: string | null;
  /** Events taken over while restoring. */
  restored: number;
}

export type SupervisorEvent = { type: 'SHUTDOWN' };

const unprovided = (name: string) =>
  fromPromise<never>(() => {
    throw new Error(`supervisor machine: "${name}" must be provided`);
  });

const describeError = (error: unknown) => (error instanceof Error ? error.message : String(error));

export const supervisorMachine = setup({
  types: {
    context: {} as SupervisorContext,
    events: {} as SupervisorEvent,
  },
  actions: {
    recordError: assign({ error: (_, params: { error: unknown }) => describeError(params.error) }),
    /** Restoring is retried while running (takeover), so a failure here is reported, not fatal. */
    reportRestoreFailure: (_, _params: { error: unknown }) => {},
  },
  actors: {
    boot: unprovided('boot') as unknown as ReturnType<typeof fromPromise<void>>,
    restore: unprovided('restore') as unknown as ReturnType<typeof fromPromise<number>>,
    deliver: fromCallback(() => () => {}),
    cleanLogs: fromCallback(() => () => {}),
    drain: unprovided('drain') as unknown as ReturnType<typeof fromPromise<void>>,
  },
}).createMachine({
  id: 'supervisor',
  context: { error: null, restored: 0 },
  initial: 'booting',
  states: {
    booting: {
      invoke: {
        src: 'boot',
        onDone: 'restoring',
        onError: { target: 'failed', actions: { type: 'recordError', params: ({ event }) => ({ error: event.error }) } },
      },
      on: { SHUTDOWN: 'draining' },
    },
    restoring: {
      invoke: {
        src: 'restore',
        onDone: { target: 'running', actions: assign({ restored: ({ event }) => event.output }) },
        onError: {
          target: 'running',
          actions: { type: 'reportRestoreFailure', params: ({ event }) => ({ error: event.error }) },
        },
      },
      on: { SHUTDOWN: 'draining' },
    },
    running: {
      invoke: [{ src: 'deliver' }, { src: 'cleanLogs' }],
      on: { SHUTDOWN: 'draining' },
    },
    draining: {
      invoke: {
        src: 'drain',
        onDone: 'stopped',
        onError: { target: 'stopped', actions: { type: 'recordError', params: ({ event }) => ({ error: event.error }) } },
      },
    },
    stopped: { type: 'final' },
    failed: { type: 'final' },
  },
});
