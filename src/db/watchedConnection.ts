/**
 * Settings for the daemon's dedicated connections (presence, wake lock), which must notice a dead peer
 * in seconds, not in the two hours Linux waits before its first keepalive probe.
 */
import type pg from 'pg';

/** Idle time before TCP keepalive probes start (the OS default is two hours on Linux). */
export const KEEPALIVE_IDLE_MS = 10_000;

/**
 * A per-statement read timeout. pg honours `query_timeout` on one query (the callback gets "Query read
 * timeout"), though @types/pg does not declare it. A statement that timed out may still be on the wire:
 * end the client afterwards (pg then destroys the socket rather than waiting for it).
 */
export function withQueryTimeout<T extends pg.QueryConfig<unknown[]>>(config: T, timeoutMs: number): T {
  return { ...config, query_timeout: timeoutMs };
}
