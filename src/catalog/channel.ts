/**
 * The NOTIFY channel of a catalog. Capture triggers send an empty payload (a wake-up: "events are
 * waiting"); operations send JSON commands that every daemon on the catalog receives.
 */
export const notifyChannel = (schema: string) => `${schema}_events`;

export type ChannelCommand =
  /** A trigger was created, replaced or deleted: reload definitions. */
  | { kind: 'triggers-changed'; name: string }
  /** redeliver_event for an event that instanceId holds in retryWait. */
  | { kind: 'redeliver'; eventId: string; instanceId: string };

/** Parses a notification payload: undefined for a wake-up or anything unrecognised. */
export function parseChannelCommand(payload: string | undefined): ChannelCommand | undefined {
  if (!payload) return undefined;
  try {
    const value = JSON.parse(payload) as Partial<ChannelCommand>;
    if (value.kind === 'triggers-changed' && typeof value.name === 'string') return value as ChannelCommand;
    if (value.kind === 'redeliver' && typeof value.eventId === 'string' && typeof value.instanceId === 'string') {
      return value as ChannelCommand;
    }
  } catch {
    // not a command
  }
  return undefined;
}
