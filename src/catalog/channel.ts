/**
 * The NOTIFY channel of a catalog. Capture triggers send an empty payload (a wake-up: "events are
 * waiting"); operations send JSON commands that every daemon on the catalog receives.
 */
export const notifyChannel = (schema: string) => `${schema}_events`;

export type ChannelCommand =
  /** A trigger was created, replaced or deleted: reload definitions. */
  | { kind: 'triggers-changed'; name: string }
  /**
   * redeliver_event for an event that instanceId holds in retryWait; generation is the event's
   * redeliveries after the reset, so the actor acts on it only once (see machines/event.machine.ts).
   */
  | { kind: 'redeliver'; eventId: string; instanceId: string; generation: number }
  /** A circuit breaker opened or closed (endpoint_circuits): reload it. */
  | { kind: 'circuit-changed'; endpoint: string };

/** Parses a notification payload: undefined for a wake-up or anything unrecognised. */
export function parseChannelCommand(payload: string | undefined): ChannelCommand | undefined {
  if (!payload) return undefined;
  try {
    const value = JSON.parse(payload) as Partial<ChannelCommand>;
    if (value.kind === 'triggers-changed' && typeof value.name === 'string') return value as ChannelCommand;
    if (value.kind === 'circuit-changed' && typeof value.endpoint === 'string') return value as ChannelCommand;
    // A daemon older than catalog migration 4 sends no generation: its command is not acted on (see
    // docs/delivery.md, mixed versions), as a wake-up only.
    if (
      value.kind === 'redeliver' &&
      typeof value.eventId === 'string' &&
      typeof value.instanceId === 'string' &&
      Number.isInteger(value.generation)
    ) {
      return value as ChannelCommand;
    }
  } catch {
    // not a command
  }
  return undefined;
}
