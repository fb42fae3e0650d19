/**
 * A per-statement read timeout for the daemon's dedicated connections. pg honours `query_timeout` on
 * one query (the callback gets "Query read timeout"), though @types/pg does not declare it. A statement
 * that timed out may still be on the wire: end the client afterwards (pg then destroys the socket).
 */
import type pg from 'pg';

export function withQueryTimeout<T extends pg.QueryConfig<any[]>>(config: T, timeoutMs: number): T {
  return { ...config, query_timeout: timeoutMs };
}
