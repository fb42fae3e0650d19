/**
 * The one way to hold a dedicated connection (presence, the wake lock): a connection of its own, outside
 * the pool, that must notice a dead peer in seconds, not in the two hours Linux waits before its first
 * keepalive probe. Keepalive probes start after KEEPALIVE_IDLE_MS idle, connecting has a timeout, and the
 * owner hears once when the connection fails or ends on its own.
 */
import pg from 'pg';

/** Idle time before TCP keepalive probes start (the OS default is two hours on Linux). */
export const KEEPALIVE_IDLE_MS = 10_000;
const CONNECT_TIMEOUT_MS = 10_000;

export interface WatchedConnectionOptions {
  connectionString: string;
  /** application_name, so pg_stat_activity says which connection it is. */
  applicationName: string;
  /** The connection failed or ended, other than by closeWatchedConnection: called at most once. */
  onLost(client: pg.Client): void;
}

/** Opens the connection; throws (with nothing left open) when it cannot. */
export async function openWatchedConnection(options: WatchedConnectionOptions): Promise<pg.Client> {
  const client = new pg.Client({
    connectionString: options.connectionString,
    application_name: options.applicationName,
    keepAlive: true,
    keepAliveInitialDelayMillis: KEEPALIVE_IDLE_MS,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
  });
  let lost = false;
  const onLost = () => {
    if (lost) return;
    lost = true;
    options.onLost(client);
  };
  client.on('error', onLost);
  client.on('end', onLost);
  try {
    await client.connect();
  } catch (error) {
    await closeWatchedConnection(client);
    throw error;
  }
  return client;
}

/**
 * Closes the connection without reporting it lost, ignoring errors. With a statement still under way (one
 * that timed out), pg destroys the socket rather than waiting for it.
 */
export async function closeWatchedConnection(client: pg.Client): Promise<void> {
  client.removeAllListeners();
  client.on('error', () => undefined);
  await client.end().catch(() => undefined);
}

/**
 * A per-statement read timeout. pg honours `query_timeout` on one query (the callback gets "Query read
 * timeout"), though @types/pg does not declare it. A statement that timed out may still be on the wire:
 * close the connection afterwards.
 */
export function withQueryTimeout<T extends pg.QueryConfig<unknown[]>>(config: T, timeoutMs: number): T {
  return { ...config, query_timeout: timeoutMs };
}
