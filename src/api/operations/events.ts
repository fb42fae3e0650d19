/** invoke_event_trigger, redeliver_event and the read-only log queries. */
import { ApiError, OPERATION_PATH } from '../errors.js';
import { RawJson, stringifyParsed } from '../json.js';
import type {
  GetEventByIdArgs,
  GetEventInvocationLogsArgs,
  GetEventLogsArgs,
  InvokeEventTriggerArgs,
  RedeliverEventArgs,
} from '../schemas.js';
import type { ChannelCommand } from '../../catalog/channel.js';
import { AnswerBudget, type OperationContext, type Tx } from './context.js';
import { currentTable, loadDefinition, SUCCESS } from './triggers.js';

/** The session of a manual event's caller, as Hasura builds it for an admin. */
const MANUAL_SESSION_VARIABLES = JSON.stringify({ 'x-hasura-role': 'admin' });

export async function invokeEventTrigger(ctx: OperationContext, tx: Tx, args: InvokeEventTriggerArgs) {
  const { definition: def } = await loadDefinition(ctx, tx, args.name);
  if (def.enable_manual === false) {
    // Hasura's wording (runInvokeEventTrigger), with the trigger named.
    throw new ApiError('not-supported', `manual mode is not enabled for event trigger "${args.name}"`, OPERATION_PATH);
  }
  // The user's payload is re-serialised digit for digit (bigints included) and embedded as event.data.new.
  // session_variables are the caller's, as Hasura sets them for insert_event_log: every caller of this
  // API is admin (a role other than admin is refused before this runs). Hasura also adds the request's other
  // x-hasura-* headers; the operations do not see headers, so they are not added. No tracing here:
  // trace_context is null.
  const payload =
    `{"op":"MANUAL","data":{"old":null,"new":${stringifyParsed(args.payload)}},` +
    `"session_variables":${MANUAL_SESSION_VARIABLES},"trace_context":null}`;
  const table = await currentTable(ctx, tx, def);
  const inserted = await tx.client
    .query<{ id: string }>({ ...ctx.sql.events.insertManual, values: [table.schema, table.name, def.name, payload] })
    .catch((error: unknown) => {
      // A number beyond PostgreSQL's numeric (1e999999, 1e-16384, more than 131072 digits) is a data
      // exception (class 22) of the client's payload, not a failure of the daemon: a 400.
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
  const found = await client.query<{ archived: boolean; locked_by: string | null; waiting: boolean; owner_alive: boolean }>({
    ...sql.lockForRedeliver,
    values: [args.event_id, ctx.heartbeatTimeoutMs],
  });
  const event = found.rows[0];
  // Hasura's wordings (checkEvent). Unlike Hasura, an archived event is refused: its trigger was deleted,
  // so nothing would deliver it.
  if (!event) throw new ApiError('not-exists', 'event not found', OPERATION_PATH);
  if (event.archived) throw new ApiError('not-exists', 'event not found: its event trigger was deleted', OPERATION_PATH);
  const busy = () => new ApiError('busy', 'event is already being processed', OPERATION_PATH);
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
  const budget = answerBudget(ctx);
  const { rows } = await tx.client.query<PageRow>({
    ...ctx.sql.events.eventLogs,
    values: [args.name, args.status, args.limit, args.offset, budget.remaining],
  });
  return spendPage(budget, rows[0]!, 'events', OPERATION_PATH);
}

export async function getEventInvocationLogs(ctx: OperationContext, tx: Tx, args: GetEventInvocationLogsArgs) {
  await loadDefinition(ctx, tx, args.name);
  const budget = answerBudget(ctx);
  const { rows } = await tx.client.query<PageRow>({
    ...ctx.sql.events.invocationLogs,
    values: [args.name, args.limit, args.offset, budget.remaining],
  });
  return spendPage(budget, rows[0]!, 'invocation logs', OPERATION_PATH);
}

export async function getEventById(ctx: OperationContext, tx: Tx, args: GetEventByIdArgs) {
  const budget = answerBudget(ctx);
  const { rows } = await tx.client.query<{ json: string | null } & Omit<PageRow, 'json'>>({
    ...ctx.sql.events.eventById,
    values: [args.event_id, args.invocation_log_limit, args.invocation_log_offset, budget.remaining],
  });
  const row = rows[0];
  // Hasura's wording (fetchEventById).
  if (!row) throw new ApiError('not-exists', `event id ${args.event_id} does not exist`, OPERATION_PATH);
  if (row.json === null) {
    throw new ApiError(
      'not-supported',
      `event "${args.event_id}" alone is larger than ${tooLarge(budget)}: raise API_ANSWER_LIMIT, or read it from the event_log table with SQL`,
      OPERATION_PATH,
    );
  }
  return spendPage(budget, { ...row, json: row.json }, 'invocation logs', OPERATION_PATH);
}

/** A page rendered by PostgreSQL within the answer budget: `kept` of the `wanted` rows fit. */
interface PageRow {
  json: string;
  wanted: number;
  kept: number;
}

const answerBudget = (ctx: OperationContext) => ctx.answers ?? new AnswerBudget(ctx.answerLimit);

const tooLarge = (budget: AnswerBudget) =>
  `API_ANSWER_LIMIT (${budget.limit} bytes${budget.shared ? ', shared with the answers before it in this request' : ''})`;

/**
 * Answers the page, or refuses it when it was cut: a short page would read as the last one to a client
 * paging with limit and offset. The message says how many rows do fit, so the client can ask for that.
 */
function spendPage(budget: AnswerBudget, row: PageRow, what: string, path: string): RawJson {
  if (row.kept < row.wanted) {
    throw new ApiError(
      'not-supported',
      `the answer would be larger than ${tooLarge(budget)}: the first ${row.kept} of these ${row.wanted} ${what} fit; ` +
        'ask for fewer with a smaller limit, and page with offset',
      path,
    );
  }
  budget.spend(Buffer.byteLength(row.json));
  return new RawJson(row.json);
}

/** An empty notification: every daemon fetches at once (delivered on commit, dropped on rollback). */
async function wakeFetchers(ctx: OperationContext, tx: Tx) {
  await tx.client.query({ ...ctx.sql.triggers.notify, values: [ctx.channel, ''] });
}
