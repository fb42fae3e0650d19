/**
 * The API's answer contract, as the property tests check it on every response: never a 5xx; a refusal
 * on /v1/* is Hasura's {"path", "error", "code"} and nothing else; /rpc answers JSON-RPC 2.0 responses
 * whose application errors carry that object in error.data (docs/api.md, src/api/jsonRpc.ts).
 */
import { expect } from 'vitest';
import { parseJson } from '../../src/api/json.js';
import type { RawResponse } from './rawHttp.js';

const HASURA_CODES = [
  'parse-failed',
  'not-exists',
  'already-exists',
  'not-supported',
  'invalid-configuration',
  'busy',
  'access-denied',
  'permission-denied',
  'not-found',
  'validation-failed',
] as const;

/** JSON-RPC error code for each Hasura code, as docs/api.md lists them. */
const RPC_CODE_BY_HASURA: Record<string, number> = {
  'parse-failed': -32602,
  'validation-failed': -32602,
  'not-exists': -32001,
  'already-exists': -32002,
  busy: -32003,
  'not-supported': -32004,
  'invalid-configuration': -32005,
  'access-denied': -32006,
  'permission-denied': -32007,
};

const STANDARD_RPC_CODES = new Set([-32700, -32600, -32601, -32602]);

function parseBody(res: RawResponse): unknown {
  try {
    return parseJson(res.text);
  } catch (error) {
    throw new Error(`HTTP ${res.status} with a body that is not JSON: ${res.text.slice(0, 300)}`, { cause: error });
  }
}

/**
 * Hasura's error object: exactly path, error and code (and, for validation-failed, Hasura's "internal":
 * the list of template errors), a JSON path, a message, a known code.
 */
export function expectHasuraError(value: unknown, context = 'error'): void {
  expect(value, context).toBeTypeOf('object');
  expect(value, context).not.toBeNull();
  const error = value as Record<string, unknown>;
  if (error.code === 'validation-failed') {
    expect(Object.keys(error).sort(), context).toEqual(['code', 'error', 'internal', 'path']);
    expect(Array.isArray(error.internal), context).toBe(true);
  } else {
    expect(Object.keys(error).sort(), context).toEqual(['code', 'error', 'path']);
  }
  expect(error.path, context).toBeTypeOf('string');
  expect(error.path as string, context).toMatch(/^\$/);
  expect(error.error, context).toBeTypeOf('string');
  expect((error.error as string).length, context).toBeGreaterThan(0);
  expect(HASURA_CODES, context).toContain(error.code);
}

export type Outcome = 'success' | 'error' | 'unknown';

/**
 * Checks an answer of /v1/query or /v1/metadata; 'error' when it refused the request (then nothing may
 * have changed), 'success' otherwise.
 */
export function checkHasuraAnswer(res: RawResponse): Outcome {
  expect(res.status, res.text.slice(0, 500)).toBeLessThan(500);
  const body = parseBody(res);
  if (res.status === 200) return 'success';
  expect(res.status, res.text.slice(0, 500)).toBeGreaterThanOrEqual(400);
  expectHasuraError(body, res.text.slice(0, 500));
  const { code } = body as { code: string };
  // 401: no or a wrong admin secret; 400: an X-Hasura-Role other than admin; 403: a browser's cross-site request.
  if (code === 'access-denied') expect([400, 401, 403]).toContain(res.status);
  else if (code === 'not-found') expect(res.status).toBe(404);
  else expect([400, 413, 415]).toContain(res.status);
  return 'error';
}

interface RpcError {
  code: number;
  message: string;
  data?: unknown;
}

function checkRpcResponse(value: unknown, context: string): 'result' | 'error' {
  expect(value, context).toBeTypeOf('object');
  expect(value, context).not.toBeNull();
  expect(Array.isArray(value), context).toBe(false);
  const r = value as Record<string, unknown>;
  expect(r.jsonrpc, context).toBe('2.0');
  expect(Object.hasOwn(r, 'id'), `${context}: a response always carries an id`).toBe(true);
  expect(r.id === null || typeof r.id === 'string' || typeof r.id === 'number', context).toBe(true);
  const keys = Object.keys(r).sort();
  if (Object.hasOwn(r, 'result')) {
    expect(keys, context).toEqual(['id', 'jsonrpc', 'result']);
    return 'result';
  }
  expect(keys, context).toEqual(['error', 'id', 'jsonrpc']);
  const error = r.error as RpcError;
  expect(error, context).toBeTypeOf('object');
  expect(Number.isInteger(error.code), context).toBe(true);
  expect(error.message, context).toBeTypeOf('string');
  expect(error.code, `${context}: an internal error is the JSON-RPC face of a 5xx`).not.toBe(-32603);
  const app = Object.values(RPC_CODE_BY_HASURA).includes(error.code) && !STANDARD_RPC_CODES.has(error.code);
  expect(app || STANDARD_RPC_CODES.has(error.code), `${context}: unknown JSON-RPC code ${error.code}`).toBe(true);
  if (app) expect(error.data, `${context}: an operation's error carries Hasura's object`).toBeDefined();
  if (error.data !== undefined) {
    expectHasuraError(error.data, context);
    const hasuraCode = (error.data as { code: string }).code;
    if (error.code !== -32700) expect(error.code, context).toBe(RPC_CODE_BY_HASURA[hasuraCode]);
    expect(Object.keys(error).sort(), context).toEqual(['code', 'data', 'message']);
  } else {
    expect(Object.keys(error).sort(), context).toEqual(['code', 'message']);
  }
  return 'error';
}

/** What the server should have parsed from the body: { json } or, for text that is not JSON, undefined. */
export type SentBody = { json: unknown } | undefined;

/**
 * Checks an answer of /rpc. 'error' only when every call was answered and every answer is an error, so
 * no call can have changed anything; 'unknown' when a notification may have run unseen.
 */
export function checkRpcAnswer(res: RawResponse, sent: SentBody): Outcome {
  expect(res.status, res.text.slice(0, 500)).toBeLessThan(500);
  if (res.status === 204) {
    expect(res.text).toBe('');
    return 'unknown';
  }
  const body = parseBody(res);
  if (res.status !== 200) {
    // Refused before JSON-RPC: an oversized body, a content type the transport cannot read.
    expect(res.status, res.text.slice(0, 500)).toBeGreaterThanOrEqual(400);
    expectHasuraError(body, res.text.slice(0, 500));
    return 'error';
  }
  const context = res.text.slice(0, 500);
  if (sent === undefined) {
    expect(body, context).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32700 } });
  }
  const batch = sent !== undefined && Array.isArray(sent.json) ? sent.json : undefined;
  expect(Array.isArray(body), `${context}: a batch is answered by a list, a call by one response`).toBe(
    batch !== undefined && batch.length > 0,
  );
  const responses = Array.isArray(body) ? body : [body];
  if (batch) expect(responses.length, context).toBeLessThanOrEqual(Math.max(1, batch.length));
  const kinds = responses.map((r) => checkRpcResponse(r, context));
  const everyCallAnswered = batch === undefined || responses.length >= batch.length;
  return everyCallAnswered && kinds.every((k) => k === 'error') ? 'error' : kinds.includes('result') ? 'success' : 'unknown';
}
