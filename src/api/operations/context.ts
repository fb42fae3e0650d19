/**
 * What every operation may use. Both transports (/v1/query, /v1/metadata and /rpc) build one of these
 * and call the same operations: no logic lives in a transport.
 */
import type pg from 'pg';
import type { Logger } from 'pino';
import { notifyChannel } from '../../catalog/channel.js';
import { cleanupStatements } from '../../sql/cleanupStatements.js';
import { eventStatements } from '../../sql/eventStatements.js';
import { overviewStatements } from '../../sql/overviewStatements.js';
import { searchStatements } from '../../sql/searchStatements.js';
import { triggerStatements } from '../../sql/triggerStatements.js';

/** The part of the local delivery engine that operations talk to. */
export interface LocalEngine {
  /** This daemon's instance id (the locked_by value of the events it holds). */
  readonly instanceId: string;
  /** Whether this daemon holds a live actor for the event, and whether it is delivering right now. */
  eventState(eventId: string): 'delivering' | 'idle' | 'absent';
  /** Sends REDELIVER to the event's actor (after the operation committed), with the reset's generation. */
  redeliver(eventId: string, generation: number): void;
  /** This daemon's view of the circuit breakers (endpoint failures in a row it counted). */
  circuitStates(): Array<{ endpoint: string; consecutiveFailures: number }>;
}

export interface OperationContext {
  pool: pg.Pool;
  schema: string;
  /** The NOTIFY channel: an empty payload wakes the fetchers, a JSON payload is a command. */
  channel: string;
  sourceName: string;
  heartbeatTimeoutMs: number;
  /** Longest wait for a lock before an operation answers busy (LOCK_TIMEOUT_MS). */
  lockTimeoutMs: number;
  /** Most bytes of answers per request (API_ANSWER_LIMIT). */
  answerLimit: number;
  /** This request's share of answerLimit, set by the transport (forRequest); absent: a fresh one per operation. */
  answers?: AnswerBudget;
  /** Environment used to resolve webhook_from_env and value_from_env. */
  env: NodeJS.ProcessEnv;
  /** STRINGIFY_NUMERIC_TYPES: stringify_numeric_types of a trigger created without it. */
  stringifyNumericTypes: boolean;
  sql: {
    triggers: ReturnType<typeof triggerStatements>;
    events: ReturnType<typeof eventStatements>;
    overview: ReturnType<typeof overviewStatements>;
    search: ReturnType<typeof searchStatements>;
    cleanups: ReturnType<typeof cleanupStatements>;
  };
  engine?: LocalEngine;
  log: Logger;
}

/**
 * Default of LOCK_TIMEOUT_MS: how long an operation waits for a lock (a user table, an event row, the
 * catalog) before it answers busy. CREATE TRIGGER queues for a ShareRowExclusive lock on the user's table,
 * and while it waits every write to that table waits behind it: the wait is the application's stall, so
 * it is kept short. Busy is retryable: the client tries again once the long
 * transaction holding the table is done.
 */
export const DEFAULT_LOCK_TIMEOUT_MS = 2000;

/** Default of API_ANSWER_LIMIT. */
export const DEFAULT_ANSWER_LIMIT = 32 * 1024 * 1024;

/**
 * Bytes of answers one HTTP request may still produce, shared by every operation of a bulk request or
 * a JSON-RPC batch: the log queries render up to a page of payloads and response bodies each, so a
 * batch of them would otherwise be bounded by nothing but memory.
 */
export class AnswerBudget {
  remaining: number;
  constructor(readonly limit: number) {
    this.remaining = limit;
  }
  /** Whether an earlier operation of the request already spent part of it. */
  get shared(): boolean {
    return this.remaining < this.limit;
  }
  spend(bytes: number): void {
    this.remaining = Math.max(0, this.remaining - bytes);
  }
}

/** The context for one HTTP request: the shared one, with a fresh answer budget. */
export function forRequest(ctx: OperationContext): OperationContext {
  return { ...ctx, answers: new AnswerBudget(ctx.answerLimit) };
}

/** A transaction in progress: its client, and work to run only once it has committed. */
export interface Tx {
  client: pg.PoolClient;
  afterCommit(fn: () => void): void;
}

export interface ContextOptions {
  pool: pg.Pool;
  schema: string;
  sourceName: string;
  heartbeatTimeoutMs: number;
  lockTimeoutMs?: number;
  answerLimit?: number;
  env?: NodeJS.ProcessEnv;
  stringifyNumericTypes?: boolean;
  engine?: LocalEngine;
  log: Logger;
}

export function createOperationContext(options: ContextOptions): OperationContext {
  return {
    pool: options.pool,
    schema: options.schema,
    channel: notifyChannel(options.schema),
    sourceName: options.sourceName,
    heartbeatTimeoutMs: options.heartbeatTimeoutMs,
    lockTimeoutMs: options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS,
    answerLimit: options.answerLimit ?? DEFAULT_ANSWER_LIMIT,
    env: options.env ?? process.env,
    stringifyNumericTypes: options.stringifyNumericTypes ?? false,
    sql: {
      triggers: triggerStatements(options.schema),
      events: eventStatements(options.schema),
      overview: overviewStatements(options.schema),
      search: searchStatements(options.schema),
      cleanups: cleanupStatements(options.schema),
    },
    ...(options.engine ? { engine: options.engine } : {}),
    log: options.log,
  };
}
