/**
 * What every operation may use. Both transports (/v1/query, /v1/metadata and /rpc) build one of these
 * and call the same operations: no logic lives in a transport.
 */
import type pg from 'pg';
import type { Logger } from 'pino';
import { notifyChannel } from '../../catalog/channel.js';
import { eventStatements } from '../../sql/eventStatements.js';
import { triggerStatements } from '../../sql/triggerStatements.js';

/** The part of the local delivery engine that operations talk to. */
export interface LocalEngine {
  /** This daemon's instance id (the locked_by value of the events it holds). */
  readonly instanceId: string;
  /** Whether this daemon holds a live actor for the event, and whether it is delivering right now. */
  eventState(eventId: string): 'delivering' | 'idle' | 'absent';
  /** Sends REDELIVER to the event's actor (after the operation committed), with the reset's generation. */
  redeliver(eventId: string, generation: number): void;
}

export interface OperationContext {
  pool: pg.Pool;
  schema: string;
  /** The NOTIFY channel: an empty payload wakes the fetchers, a JSON payload is a command. */
  channel: string;
  sourceName: string;
  heartbeatTimeoutMs: number;
  /** Environment used to resolve webhook_from_env and value_from_env. */
  env: NodeJS.ProcessEnv;
  sql: { triggers: ReturnType<typeof triggerStatements>; events: ReturnType<typeof eventStatements> };
  engine?: LocalEngine;
  log: Logger;
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
  env?: NodeJS.ProcessEnv;
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
    env: options.env ?? process.env,
    sql: { triggers: triggerStatements(options.schema), events: eventStatements(options.schema) },
    ...(options.engine ? { engine: options.engine } : {}),
    log: options.log,
  };
}
