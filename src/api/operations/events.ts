/** invoke_event_trigger, redeliver_event and the read-only log queries. */
import { ApiError } from '../errors.js';
import { RawJson, stringifyParsed } from '../json.js';
import type {
  GetEventByIdArgs,
  GetEventInvocationLogsArgs,
  GetEventLogsArgs,
  InvokeEventTriggerArgs,
  RedeliverEventArgs,
} from '../schemas.js';
import type { ChannelCommand } from '../../catalog/channel.js';
import type { OperationContext, Tx } from './context.js';
import { currentTable, loadDefinition, SUCCESS } from './triggers.js';

export async function invokeEventTrigger(ctx: OperationContext, tx: Tx, args: InvokeEventTriggerArgs) {
  const { definition: def } = await loadDefinition(ctx, tx, args.name);
  if (def.enable_manual === false) {
    throw new ApiError('not-supported', `manual invocation is not enabled for event trigger "${args.name}"`, '$.args.name');
  }
  // The user's payload is re-serialised digit for digit (bigints included) and embedded as event.data.new.
  const payload = `{"op":"MANUAL","data":{"old":null,"new":${stringifyParsed(args.payload)}}}`;
  const table = await currentTable(ctx, tx, def);
  const inserted = await tx.client
    .query<{ id: string }>({ ...ctx.sql.events.insertManual, values: [table.schema, table.name, def.name, payload] })
    .catch((error: unknown) => {
      // A number beyond PostgreSQL's numeric (1e999999, 1e-16384, more than 131072 digits) is a data
      // exception (class 22) of the client's payload, not a failure of the daemon: it used to answer 500
      // (found by test/properties/apiFuzz.test.ts).
      const code = (error as { code?: unknown } | undefined)?.code;
      if (typeof code === 'string' && code.startsWith('22')) {
        throw new ApiError('parse-failed', `the payload cannot be stored: ${(error as Error).message}`, '$.args.payload');
      }
      throw error;
    });
  await wakeFetchers(ctx, tx);
  return { event_id: inserted.rows[0]!.id };
}

export async function redeliverEvent(ctx: OperationContext, tx: Tx, args: RedeliverEventArgs) {
  const { client } = tx;
  const sql = ctx.sql.events;
  const found = await client.query<{ archived: boolean; locked_by: string | null; waiting: boolean; owner_alive: boolean }>(
    { ...sql.lockForRedeliver, values: [args.event_id, ctx.heartbeatTimeoutMs] },
  );
  const event = found.rows[0];
  if (!event) throw new ApiError('not-exists', `event "${args.event_id}" does not exist`, '$.args.event_id');
  if (event.archived) {
    throw new ApiError('not-exists', `event "${args.event_id}" belongs to a deleted event trigger`, '$.args.event_id');
  }
  const busy = () => new ApiError('busy', `event "${args.event_id}" is being delivered right now; try again`, '$.args.event_id');
  /** The reset, and the generation it moves the event to (see resetForRedeliver). */
  const reset = async (release: boolean) => {
    const { rows } = await client.query<{ redeliveries: number }>({ ...sql.resetForRedeliver, values: [args.event_id, release] });
    return rows[0]!.redeliveries;
  };

  // The row stays locked (lockForRedeliver) until commit, so an attempt of the event that gets recorded
  // meanwhile waits for the reset and sees the new generation: it resets the event rather than judging it.
  const engine = ctx.engine;
  if (event.locked_by !== null && engine && event.locked_by === engine.instanceId) {
    // Held by this daemon: its actor is reset once the reset is committed.
    const state = engine.eventState(args.event_id);
    if (state === 'delivering') throw busy();
    if (state === 'idle') {
      const generation = await reset(false);
      tx.afterCommit(() => engine.redeliver(args.event_id, generation));
      return SUCCESS;
    }
    await reset(true);
  } else if (event.locked_by !== null && event.owner_alive) {
    // Held by another live daemon: only an event waiting for its retry can be taken from it.
    if (!event.waiting) throw busy();
    const generation = await reset(false);
    const command: ChannelCommand = { kind: 'redeliver', eventId: args.event_id, instanceId: event.locked_by, generation };
    await client.query({ ...ctx.sql.triggers.notify, values: [ctx.channel, JSON.stringify(command)] });
  } else {
    // Free, delivered, errored, or held by a daemon that is gone: any daemon fetches it now.
    await reset(true);
  }
  await wakeFetchers(ctx, tx);
  return SUCCESS;
}

export async function getEventLogs(ctx: OperationContext, tx: Tx, args: GetEventLogsArgs) {
  await loadDefinition(ctx, tx, args.name);
  const { rows } = await tx.client.query<{ json: string }>({
    ...ctx.sql.events.eventLogs,
    values: [args.name, args.status, args.limit, args.offset],
  });
  return new RawJson(rows[0]!.json);
}

export async function getEventInvocationLogs(ctx: OperationContext, tx: Tx, args: GetEventInvocationLogsArgs) {
  await loadDefinition(ctx, tx, args.name);
  const { rows } = await tx.client.query<{ json: string }>({
    ...ctx.sql.events.invocationLogs,
    values: [args.name, args.limit, args.offset],
  });
  return new RawJson(rows[0]!.json);
}

export async function getEventById(ctx: OperationContext, tx: Tx, args: GetEventByIdArgs) {
  const { rows } = await tx.client.query<{ json: string }>({
    ...ctx.sql.events.eventById,
    values: [args.event_id, args.invocation_log_limit, args.invocation_log_offset],
  });
  if (!rows[0]) throw new ApiError('not-exists', `event "${args.event_id}" does not exist`, '$.args.event_id');
  return new RawJson(rows[0].json);
}

/** An empty notification: every daemon fetches at once (delivered on commit, dropped on rollback). */
async function wakeFetchers(ctx: OperationContext, tx: Tx) {
  await tx.client.query({ ...ctx.sql.triggers.notify, values: [ctx.channel, ''] });
}
