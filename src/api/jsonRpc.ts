/**
 * POST /rpc: JSON-RPC 2.0 over the same operations (method = operation name, params = args). Batches,
 * notifications and the standard error codes; Hasura's error object travels in error.data.
 */
import { ApiError, internalError, type ErrorCode, type WireError } from './errors.js';
import { findOperation, MAX_BATCH, runOperation, type Caller } from './operations/index.js';
import type { OperationContext } from './operations/context.js';

export const RPC_ERRORS = {
  parseError: -32700,
  invalidRequest: -32600,
  methodNotFound: -32601,
  invalidParams: -32602,
  internalError: -32603,
} as const;

/** Application errors, one per Hasura code, in the range JSON-RPC leaves to implementations. */
const CODE_BY_HASURA: Partial<Record<ErrorCode, number>> = {
  'parse-failed': RPC_ERRORS.invalidParams,
  'validation-failed': RPC_ERRORS.invalidParams,
  'not-exists': -32001,
  'already-exists': -32002,
  busy: -32003,
  'not-supported': -32004,
  'invalid-configuration': -32005,
  'access-denied': -32006,
  'permission-denied': -32007,
  unexpected: RPC_ERRORS.internalError,
};

type Id = string | number | null;

interface RpcResponse {
  jsonrpc: '2.0';
  id: Id;
  result?: unknown;
  error?: { code: number; message: string; data?: WireError };
}

const failure = (id: Id, code: number, message: string, data?: WireError): RpcResponse => ({
  jsonrpc: '2.0',
  id,
  error: data ? { code, message, data } : { code, message },
});

/** Handles a parsed body; returns what to send, or undefined when only notifications came (204). */
export async function handleRpc(
  ctx: OperationContext,
  body: unknown,
  caller: Caller = {},
): Promise<RpcResponse | RpcResponse[] | undefined> {
  if (Array.isArray(body)) {
    if (body.length === 0) return failure(null, RPC_ERRORS.invalidRequest, 'Invalid Request: empty batch');
    // Refused whole, before any call runs, so a client never has to work out which part ran.
    if (body.length > MAX_BATCH) {
      return failure(
        null,
        RPC_ERRORS.invalidRequest,
        `Invalid Request: a batch holds at most ${MAX_BATCH} calls, got ${body.length}; split it`,
      );
    }
    const out: RpcResponse[] = [];
    for (const call of body) {
      const response = await handleCall(ctx, call, caller);
      if (response) out.push(response);
    }
    return out.length ? out : undefined;
  }
  return handleCall(ctx, body, caller);
}

export function parseErrorResponse(message: string): RpcResponse {
  return failure(null, RPC_ERRORS.parseError, 'Parse error', { path: '$', error: message, code: 'parse-failed' });
}

async function handleCall(ctx: OperationContext, call: unknown, caller: Caller): Promise<RpcResponse | undefined> {
  if (call === null || typeof call !== 'object' || Array.isArray(call)) {
    return failure(null, RPC_ERRORS.invalidRequest, 'Invalid Request: expected an object');
  }
  const { jsonrpc, method, params, id, ...rest } = call as Record<string, unknown>;
  const validId = id === undefined || id === null || typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id));
  const replyId: Id = validId && id !== undefined ? id : null;
  if (jsonrpc !== '2.0') return failure(replyId, RPC_ERRORS.invalidRequest, 'Invalid Request: "jsonrpc" must be "2.0"');
  if (!validId) return failure(null, RPC_ERRORS.invalidRequest, 'Invalid Request: "id" must be a string, a number or null');
  if (typeof method !== 'string') return failure(replyId, RPC_ERRORS.invalidRequest, 'Invalid Request: "method" must be a string');
  if (Object.keys(rest).length) {
    return failure(replyId, RPC_ERRORS.invalidRequest, `Invalid Request: unexpected member "${Object.keys(rest)[0]}"`);
  }
  const isNotification = id === undefined;
  if (method !== 'bulk' && !findOperation(method)) {
    return isNotification ? undefined : failure(replyId, RPC_ERRORS.methodNotFound, `Method not found: ${method}`);
  }
  if (params !== undefined && (params === null || typeof params !== 'object')) {
    return isNotification ? undefined : failure(replyId, RPC_ERRORS.invalidParams, 'Invalid params: expected an object');
  }
  try {
    const result = await runOperation(ctx, method, params, caller);
    return isNotification ? undefined : { jsonrpc: '2.0', id: replyId, result };
  } catch (error) {
    if (isNotification) return undefined;
    const apiError = error instanceof ApiError ? error : internalError();
    if (!(error instanceof ApiError)) ctx.log.error({ err: error, method }, 'operation failed');
    const code = CODE_BY_HASURA[apiError.code] ?? RPC_ERRORS.internalError;
    return failure(replyId, code, apiError.message, apiError.toWire());
  }
}
