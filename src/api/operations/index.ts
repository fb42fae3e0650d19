/**
 * The operations, by name. Both transports call runQuery (Hasura's {"type", "args"}, bulk included) or
 * runOperation (JSON-RPC); nothing else decides what an operation does.
 */
import type { z } from 'zod';
import { ApiError, OPERATION_PATH } from '../errors.js';
import { cleanupEventTriggerLogsArgs, eventTriggerCleanupsArgs } from '../cleanupSchemas.js';
import {
  createEventTriggerArgs,
  deleteEventTriggerArgs,
  describe,
  getDeliveryStatsArgs,
  getEventByIdArgs,
  getEventInvocationLogsArgs,
  getEventLogsArgs,
  getEventTriggersArgs,
  getFlowControlStateArgs,
  getInconsistentMetadataArgs,
  invokeEventTriggerArgs,
  parseArgsWith,
  redeliverEventArgs,
  searchEventInvocationLogsArgs,
  searchEventLogsArgs,
  testWebhookTransformArgs,
} from '../schemas.js';
import { cleanupEventTriggerLogs, pauseEventTriggerCleanups, resumeEventTriggerCleanups } from './cleanups.js';
import type { OperationContext, Tx } from './context.js';
import { getEventById, getEventInvocationLogs, getEventLogs, invokeEventTrigger, redeliverEvent } from './events.js';
import { getFlowControlState } from './flowControl.js';
import { exportMetadata, exportMetadataArgs, replaceMetadata, replaceMetadataArgs } from './metadata.js';
import { getDeliveryStats, getEventTriggers, searchEventInvocationLogs, searchEventLogs } from './overview.js';
import { inTransaction, translatePgError } from './transaction.js';
import { testWebhookTransform } from './transforms.js';
import { createEventTrigger, deleteEventTrigger, getInconsistentMetadata } from './triggers.js';

/** What an operation may read of its request besides the args. */
export interface RequestInfo {
  /** The request's "version" (1 or 2: export_metadata and replace_metadata answer by it). */
  version: unknown;
  /** The request's "resource_version": replace_metadata refuses to apply over a newer catalog. */
  resourceVersion: unknown;
}

interface Operation<S extends z.ZodType = z.ZodType> {
  args: S;
  run(ctx: OperationContext, tx: Tx, args: z.output<S>, request: RequestInfo): Promise<unknown>;
  /**
   * Set for an operation that runs its own transactions (a cleanup commits batch after batch): it runs
   * outside the request's transaction, and so cannot be part of a bulk.
   */
  alone?(ctx: OperationContext, args: z.output<S>): Promise<unknown>;
}

/** The name Hasura gives the source a request omits (SNDefault). */
const DEFAULT_SOURCE = 'default';

const op = <S extends z.ZodType>(args: S, run: Operation<S>['run']): Operation => ({ args, run });
const alone = <S extends z.ZodType>(args: S, run: NonNullable<Operation<S>['alone']>): Operation => ({
  args,
  run: () => Promise.reject(new Error('runs alone')),
  alone: run,
});

/** Operation names as in the spec; Hasura 2's pg_-prefixed names are accepted for each. */
export const OPERATIONS: Record<string, Operation> = {
  create_event_trigger: op(createEventTriggerArgs, createEventTrigger),
  delete_event_trigger: op(deleteEventTriggerArgs, deleteEventTrigger),
  redeliver_event: op(redeliverEventArgs, redeliverEvent),
  invoke_event_trigger: op(invokeEventTriggerArgs, invokeEventTrigger),
  get_event_logs: op(getEventLogsArgs, getEventLogs),
  get_event_invocation_logs: op(getEventInvocationLogsArgs, getEventInvocationLogs),
  get_event_by_id: op(getEventByIdArgs, getEventById),
  get_inconsistent_metadata: op(getInconsistentMetadataArgs, getInconsistentMetadata),
  // Beyond Hasura.
  get_flow_control_state: op(getFlowControlStateArgs, getFlowControlState),
  test_webhook_transform: op(testWebhookTransformArgs, testWebhookTransform),
  cleanup_event_trigger_logs: alone(cleanupEventTriggerLogsArgs, cleanupEventTriggerLogs),
  pause_event_trigger_cleanups: op(eventTriggerCleanupsArgs, pauseEventTriggerCleanups),
  resume_event_trigger_cleanups: op(eventTriggerCleanupsArgs, resumeEventTriggerCleanups),
  export_metadata: op(exportMetadataArgs, exportMetadata),
  replace_metadata: op(replaceMetadataArgs, replaceMetadata),
  // For the console (read-only).
  get_event_triggers: op(getEventTriggersArgs, getEventTriggers),
  get_delivery_stats: op(getDeliveryStatsArgs, getDeliveryStats),
  search_event_logs: op(searchEventLogsArgs, searchEventLogs),
  search_event_invocation_logs: op(searchEventInvocationLogsArgs, searchEventInvocationLogs),
};

export function findOperation(type: string): Operation | undefined {
  const name = type.startsWith('pg_') ? type.slice(3) : type;
  return Object.hasOwn(OPERATIONS, name) ? OPERATIONS[name] : undefined;
}

/** Who sends a request, as the transport authenticated it. */
export interface Caller {
  /** X-Hasura-Role; absent means admin. */
  role?: string | undefined;
}

const ADMIN_ROLE = 'admin';

/**
 * Every operation here is admin-only, as each event-trigger operation is in Hasura (requiresAdmin), which
 * refuses another role once the request is parsed (authorizeMetadataApi): HTTP 400, access-denied, at
 * $.args, whatever the admin secret said.
 */
function authorize(caller: Caller): void {
  if (caller.role !== undefined && caller.role !== ADMIN_ROLE) {
    throw new ApiError('access-denied', 'restricted access : admin only', OPERATION_PATH, 400);
  }
}

interface Prepared {
  operation: Operation;
  args: unknown;
  request: RequestInfo;
}

/**
 * Which endpoint a request came by. Hasura parses /v1/query's args without adding their key to the path,
 * so its parser's refusals of the args as a whole read "$" there (its tests fix this for
 * create_event_trigger); /v1/metadata's read "$.args".
 */
export type Endpoint = 'query' | 'metadata' | 'rpc';

/** Validates one {"type", "args"} request without touching the database. */
function prepare(ctx: OperationContext, request: unknown, path: string, argsObjectPath = `${path}.args`): Prepared {
  if (request === null || typeof request !== 'object' || Array.isArray(request)) {
    throw new ApiError('parse-failed', `expected an object, got ${describe(request)}`, path);
  }
  const { type, args, version, resource_version: resourceVersion, ...rest } = request as Record<string, unknown>;
  const extra = Object.keys(rest);
  if (extra.length) throw new ApiError('parse-failed', `unexpected key "${extra[0]}"`, path);
  if (type === undefined) throw new ApiError('parse-failed', 'key "type" not found', path);
  if (typeof type !== 'string') throw new ApiError('parse-failed', `expected a string, got ${describe(type)}`, `${path}.type`);
  const operation = findOperation(type);
  if (!operation) throw new ApiError('parse-failed', `unknown operation type "${type}"`, `${path}.type`);
  const parsed = parseArgsWith(operation.args, args, `${path}.args`, argsObjectPath) as { source?: string };
  // Hasura's requests name their source, "default" unless it was renamed: "default" always works, and so
  // does SOURCE_NAME, for requests written against a Hasura source of another name. Hasura looks the source
  // up while the operation runs (askSourceInfo), hence its path and wording.
  if (parsed.source !== undefined && parsed.source !== DEFAULT_SOURCE && parsed.source !== ctx.sourceName) {
    throw new ApiError('not-exists', `source with name "${parsed.source}" does not exist`, `${path}${OPERATION_PATH.slice(1)}`);
  }
  return { operation, args: parsed, request: { version, resourceVersion } };
}

/** Runs one operation's validated args, re-rooting error paths at `path`. */
async function execute(ctx: OperationContext, tx: Tx, p: Prepared, path: string): Promise<unknown> {
  try {
    return await p.operation.run(ctx, tx, p.args, p.request);
  } catch (caught) {
    const error = translatePgError(caught);
    if (error instanceof ApiError && path !== '$') throw error.at(error.path.replace(/^\$/, path));
    throw error;
  }
}

/**
 * Most operations in one bulk request or JSON-RPC batch. Tiny operations fit thousands to the request
 * body: every one of them ran, in one transaction for bulk, and every result was kept until the answer
 * was sent. Bounded like this, a request's work is too (and its answers by API_ANSWER_LIMIT).
 */
export const MAX_BATCH = 1000;

/**
 * Runs a Hasura-style request: {"type", "args"}, or {"type": "bulk", "args": [...]}. A bulk request runs
 * in one transaction: all of it happens, or none.
 */
export async function runQuery(
  ctx: OperationContext,
  body: unknown,
  caller: Caller = {},
  endpoint: Endpoint = 'metadata',
): Promise<unknown> {
  const isBulk = body !== null && typeof body === 'object' && (body as { type?: unknown }).type === 'bulk';
  if (!isBulk) {
    const prepared = prepare(ctx, body, '$', endpoint === 'query' ? '$' : '$.args');
    authorize(caller);
    if (prepared.operation.alone) {
      try {
        return await prepared.operation.alone(ctx, prepared.args);
      } catch (error) {
        throw translatePgError(error);
      }
    }
    return inTransaction(ctx, (tx) => execute(ctx, tx, prepared, '$'));
  }
  const { args, ...rest } = body as { args?: unknown };
  const extra = Object.keys(rest).filter((k) => k !== 'type' && k !== 'version' && k !== 'resource_version');
  if (extra.length) throw new ApiError('parse-failed', `unexpected key "${extra[0]}"`, '$');
  if (!Array.isArray(args)) throw new ApiError('parse-failed', `expected an array, got ${describe(args)}`, '$.args');
  if (args.length > MAX_BATCH) {
    throw new ApiError('parse-failed', `a bulk request holds at most ${MAX_BATCH} operations, got ${args.length}: split it`, '$.args');
  }
  const prepared = args.map((request, i) => {
    if ((request as { type?: unknown } | null)?.type === 'bulk') {
      throw new ApiError('not-supported', 'a bulk request cannot contain another bulk request', `$.args[${i}].type`);
    }
    const prepared = prepare(ctx, request, `$.args[${i}]`);
    if (prepared.operation.alone) {
      const type = (request as { type: string }).type;
      throw new ApiError(
        'not-supported',
        `${type} cannot be part of a bulk request: it commits batch after batch, so it cannot be undone with the rest`,
        `$.args[${i}].type`,
      );
    }
    return prepared;
  });
  authorize(caller);
  return inTransaction(ctx, async (tx) => {
    const results: unknown[] = [];
    for (const [i, p] of prepared.entries()) results.push(await execute(ctx, tx, p, `$.args[${i}]`));
    return results;
  });
}

/** Runs one operation by name with its args (the JSON-RPC transport). */
export async function runOperation(ctx: OperationContext, method: string, params: unknown, caller: Caller = {}): Promise<unknown> {
  return runQuery(ctx, { type: method, args: params }, caller, 'rpc');
}
