/**
 * The flow-control state of triggers (circuit breakers), from get_flow_control_state when the daemon has
 * it. A daemon without it answers "unknown operation type": the console then leaves the column out, and
 * asks again a minute later (the daemon may have been upgraded meanwhile).
 */
import { isUnknownOperation, query } from './api.js';
import type { FlowControlState } from './types.js';

export type Circuit = FlowControlState['triggers'][number];

const RECHECK_MS = 60_000;
let unavailableSince: number | undefined;

/** Each trigger's state by name, or undefined when this daemon has no flow control. */
export async function fetchFlowControl(name?: string): Promise<Map<string, Circuit> | undefined> {
  if (unavailableSince !== undefined && Date.now() - unavailableSince < RECHECK_MS) return undefined;
  try {
    const state = await query<FlowControlState>('get_flow_control_state', name === undefined ? {} : { name });
    unavailableSince = undefined;
    return new Map(state.triggers.map((t) => [t.name, t]));
  } catch (error) {
    if (isUnknownOperation(error)) {
      unavailableSince = Date.now();
      return undefined;
    }
    throw error;
  }
}
