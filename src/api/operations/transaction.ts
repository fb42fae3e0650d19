/** Runs operations in one transaction; PostgreSQL errors an operation can meet become ApiErrors. */
import type pg from 'pg';
import { ApiError, OPERATION_PATH } from '../errors.js';
import type { OperationContext, Tx } from './context.js';

export async function inTransaction<T>(ctx: OperationContext, work: (tx: Tx) => Promise<T>): Promise<T> {
  const client = await ctx.pool.connect();
  const after: Array<() => void> = [];
  let result: T;
  try {
    await client.query('begin');
    // An integer from the validated configuration: safe in the SQL text (SET takes no bind parameters).
    await client.query(`set local lock_timeout = ${Math.trunc(ctx.lockTimeoutMs)}`);
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

/**
 * A PostgreSQL error an operation can meet, as the ApiError to answer (at $.args, like every refusal an
 * operation raises while it runs); anything else unchanged. Called where each operation runs, so that
 * in a bulk the path names the operation, and again around the commit.
 */
export function translatePgError(error: unknown): unknown {
  const code = (error as pg.DatabaseError | undefined)?.code;
  if (code === '55P03') {
    return new ApiError('busy', 'a table or event this operation needs is locked by another transaction; try again', OPERATION_PATH);
  }
  if (code === '40P01' || code === '40001') {
    return new ApiError('busy', 'the operation collided with a concurrent change; try again', OPERATION_PATH);
  }
  // Refusals of the database itself, not failures of the daemon: 400s, not 500s. The common
  // cases are checked beforehand with a message naming the remedy (triggers.ts); these catch the rest
  // (a privilege revoked between the check and the statement, say), with PostgreSQL's own words.
  const message = (error as Error | undefined)?.message;
  if (code === '42501') {
    return new ApiError(
      'permission-denied',
      `PostgreSQL refused the daemon's database role: ${message}; grant the role what it lacks (docs/operations.md lists what it needs)`,
      OPERATION_PATH,
    );
  }
  if (code === '42710') return new ApiError('already-exists', `PostgreSQL refused: ${message}`, OPERATION_PATH);
  return error;
}
