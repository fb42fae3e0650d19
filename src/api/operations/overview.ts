/**
 * The console's read-only operations (extensions beyond Hasura): every trigger with its counts, the
 * deliveries per minute of the last hour, and searches of a trigger's events and attempts with filters
 * get_event_logs does not have. Each reads through indexes and stops at a bound (src/sql/overviewStatements.ts,
 * src/sql/searchStatements.ts), since the console asks again every few seconds.
 */
import { ApiError, OPERATION_PATH } from '../errors.js';
import { RawJson } from '../json.js';
import type { GetDeliveryStatsArgs, GetEventTriggersArgs, SearchEventInvocationLogsArgs, SearchEventLogsArgs } from '../schemas.js';
import { eventSearchKey, invocationSearchKey } from '../../sql/searchStatements.js';
import type { OperationContext, Tx } from './context.js';
import { loadDefinition } from './triggers.js';

/**
 * Where a count stops: the console shows "10,000+". Counting on would read every event of a busy trigger
 * on every refresh; past this many, the exact figure changes nothing a person does next.
 */
export const COUNT_LIMIT = 10_000;

/** The attempts of one trigger the chart reads at most: enough for 2.7 a second over the whole hour. */
export const STATS_ATTEMPT_LIMIT = 10_000;

const DAY_MS = 24 * 60 * 60 * 1000;

interface TriggerRow {
  name: string;
  id: string;
  definition: string;
  current_schema: string;
  current_table: string;
  table_exists: boolean;
  created_at: string;
  updated_at: string;
  pending: number;
  retrying: number;
  pending_capped: boolean;
  failed: number;
  delivered: number;
}

export async function getEventTriggers(ctx: OperationContext, tx: Tx, args: GetEventTriggersArgs) {
  if (args.name !== undefined) await loadDefinition(ctx, tx, args.name);
  const deliveredSince = args.delivered_since ?? new Date(Date.now() - DAY_MS).toISOString();
  const { rows } = await tx.client.query<TriggerRow>({
    ...ctx.sql.overview.triggers,
    values: [args.name ?? null, COUNT_LIMIT, deliveredSince],
  });
  // Definitions pass through as PostgreSQL rendered them: no number in one is re-encoded.
  const triggers = rows.map((r) => ({
    name: r.name,
    id: r.id,
    table: { schema: r.current_schema, name: r.current_table },
    table_exists: r.table_exists,
    definition: new RawJson(r.definition),
    created_at: r.created_at,
    updated_at: r.updated_at,
    counts: { pending: r.pending, retrying: r.retrying, failed: r.failed, delivered: r.delivered },
    counts_at_least: [
      ...(r.pending_capped ? ['pending', 'retrying'] : []),
      ...(r.failed >= COUNT_LIMIT ? ['failed'] : []),
      ...(r.delivered >= COUNT_LIMIT ? ['delivered'] : []),
    ],
  }));
  return { triggers, delivered_since: new Date(deliveredSince).toISOString(), count_limit: COUNT_LIMIT };
}

interface StatsRow {
  minute: string;
  delivered: number;
  failed: number;
  latency_ms_avg: number | null;
  latency_ms_max: number | null;
  oldest_counted: string | null;
}

export async function getDeliveryStats(ctx: OperationContext, tx: Tx, args: GetDeliveryStatsArgs) {
  if (args.name !== undefined) await loadDefinition(ctx, tx, args.name);
  // Whole minutes: the current one (still counting) and the minutes - 1 before it.
  const now = Date.now();
  const currentMinute = now - (now % 60_000);
  const since = new Date(currentMinute - (args.minutes - 1) * 60_000);
  const { rows } = await tx.client.query<StatsRow>({
    ...ctx.sql.overview.deliveryStats,
    values: [args.name ?? null, since.toISOString(), STATS_ATTEMPT_LIMIT],
  });
  const byMinute = new Map(rows.map((r) => [new Date(r.minute).getTime(), r]));
  const minutes = Array.from({ length: args.minutes }, (_, i) => {
    const at = since.getTime() + i * 60_000;
    const row = byMinute.get(at);
    return {
      minute: new Date(at).toISOString(),
      delivered: row?.delivered ?? 0,
      failed: row?.failed ?? 0,
      latency_ms_avg: row?.latency_ms_avg ?? null,
      latency_ms_max: row?.latency_ms_max ?? null,
    };
  });
  return {
    since: since.toISOString(),
    until: new Date(now).toISOString(),
    minutes,
    oldest_counted: rows[0]?.oldest_counted ?? null,
    attempt_limit: STATS_ATTEMPT_LIMIT,
  };
}

export async function searchEventLogs(ctx: OperationContext, tx: Tx, args: SearchEventLogsArgs) {
  await loadDefinition(ctx, tx, args.name);
  const statement = ctx.sql.search[eventSearchKey(args.status, args.event_id !== undefined)];
  const page = await searchPage(ctx, tx, statement!, args);
  return { events: new RawJson(page.json), has_more: page.hasMore };
}

export async function searchEventInvocationLogs(ctx: OperationContext, tx: Tx, args: SearchEventInvocationLogsArgs) {
  await loadDefinition(ctx, tx, args.name);
  const statement = ctx.sql.search[invocationSearchKey(args.status, args.event_id !== undefined)];
  const page = await searchPage(ctx, tx, statement!, args);
  return { invocations: new RawJson(page.json), has_more: page.hasMore };
}

interface SearchArgs {
  name: string;
  since?: string | undefined;
  until?: string | undefined;
  event_id?: string | undefined;
  limit: number;
  offset: number;
}

/**
 * One page, asked for with one row more than it shows: the extra row says whether another page follows,
 * without a count that would read every row of the range.
 */
async function searchPage(ctx: OperationContext, tx: Tx, statement: { name: string; text: string }, args: SearchArgs) {
  const values: unknown[] = [args.name, args.since ?? null, args.until ?? null, args.limit + 1, args.offset];
  if (args.event_id !== undefined) values.push(args.event_id);
  const { rows } = await tx.client.query<{ json: string }>({ ...statement, values });
  const all = JSON.parse(rows[0]!.json) as unknown[];
  const hasMore = all.length > args.limit;
  const json = JSON.stringify(hasMore ? all.slice(0, args.limit) : all);
  const budget = ctx.answers;
  if (budget) {
    // Rows are previews (a few hundred bytes each), but a bulk request shares one budget.
    if (Buffer.byteLength(json) > budget.remaining) {
      throw new ApiError('not-supported', `the answer would be larger than API_ANSWER_LIMIT: ask for fewer rows`, OPERATION_PATH);
    }
    budget.spend(Buffer.byteLength(json));
  }
  return { json, hasMore };
}
