/**
 * get_flow_control_state (beyond Hasura): which triggers a circuit breaker pauses and until when, their
 * limits, and how many of their events the daemons hold for sending now.
 */
import { ApiError, OPERATION_PATH } from '../errors.js';
import type { GetFlowControlStateArgs } from '../schemas.js';
import type { OperationContext, Tx } from './context.js';
import { flowStatements, type FlowStateRow } from '../../sql/flowStatements.js';

export async function getFlowControlState(ctx: OperationContext, tx: Tx, args: GetFlowControlStateArgs) {
  const { rows } = await tx.client.query<FlowStateRow>({ ...flowStatements(ctx.schema).state, values: [args.name ?? null] });
  if (args.name !== undefined && rows.length === 0) {
    throw new ApiError('not-exists', `event trigger "${args.name}" does not exist`, OPERATION_PATH);
  }
  // Failures in a row are counted by each daemon while the circuit is closed: the answering one's count.
  const counted = new Map((ctx.engine?.circuitStates() ?? []).map((c) => [c.endpoint, c.consecutiveFailures]));
  return {
    triggers: rows.map((row) => ({
      name: row.name,
      endpoint: row.endpoint,
      circuit: {
        state: row.circuit_state ?? 'closed',
        open_until: row.open_until,
        openings: row.openings ?? 0,
        reason: row.reason,
        consecutive_failures: row.circuit_state === null ? (counted.get(row.endpoint) ?? 0) : 0,
      },
      in_flight: row.in_flight,
      flow_control: row.flow_control,
    })),
  };
}
