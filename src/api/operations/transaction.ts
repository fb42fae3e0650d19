/** Runs operations in one transaction; PostgreSQL errors an operation can meet become ApiErrors. */
import type pg from 'pg';
import { ApiError, OPERATION_PATH } from '../errors.js';
import type { OperationContext, Tx } from './context.js';

/** How long catalog changes wait for a lock on a user table (a long transaction may hold it). */
const LOCK_TIMEOUT = '10s';

export async function inTransaction<T>(ctx: OperationContext, work: (tx: Tx) => Promise<T>): Promise<T> {
  const client = await ctx.pool.connect();
  const after: Array<() => void> = [];
  let result: T;
  try {
    await client.query('begin');
    await client.query(`set local lock_timeout = '${LOCK_TIMEOUT}'`);
    result = await work({ client, afterCommit: (fn) => after.push(fn) });
    await client.query('commit');
  } catch (error) {
    await client.query('rollback').catch(() => undefined);
    throw translatePgError(error);
  } finally {
    client.release();
  }
  for (const fn of after) fn();
  return result;
}

function translatePgError(error: unknown): unknown {
  const code = (error as pg.DatabaseError | undefined)?.code;
  if (code === '55P03') {
    return new ApiError('busy', 'a table or event this operation needs is locked by another transaction; try again', OPERATION_PATH);
  }
  if (code === '40P01' || code === '40001') {
    return new ApiError('busy', 'the operation collided with a concurrent change; try again', OPERATION_PATH);
  }
  return error;
}
