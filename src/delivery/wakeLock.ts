/**
 * The wake lock, on a connection of its own: held while this daemon sleeps until NOTIFY, let go while it
 * is busy and polls. Capture sends NOTIFY only while some daemon holds or waits for it (enqueue_event, migration 5),
 * because PostgreSQL serialises the commits of every transaction that sends one.
 *
 * A quiet daemon *requests* the lock with a blocking pg_advisory_lock. It is granted once no capturing
 * transaction holds it shared, i.e. once every transaction that skipped its NOTIFY has ended; the engine
 * then fetches once more and sees their events. While the request waits (a long transaction, or another
 * daemon holding the lock), capture's shared try fails, so NOTIFYs flow meanwhile. When the daemon that
 * holds it goes busy or dies, the next waiting daemon is granted it: no hand-over messages needed.
 *
 * The lock lives with the session: if the connection drops, PostgreSQL releases it; `onLost` then wakes
 * the engine, which requests it again.
 *
 * The busy fetch loop waits for letGo(), so the unlock has a timeout (UNLOCK_TIMEOUT_MS): on a half-open
 * connection it would otherwise wait until the OS gives up on the socket, minutes during which nothing is
 * fetched. On timeout the connection is dropped and the next request opens a new one. The server may hold
 * the old session (and the lock) until it notices the peer is gone; meanwhile capture sees the lock taken
 * and sends NOTIFY, which is only slower, never a lost wake-up. The blocking request itself has no
 * timeout: waiting for the lock is its purpose.
 */
import type pg from 'pg';
import type { Logger } from 'pino';
import { closeWatchedConnection, openWatchedConnection, withQueryTimeout } from '../db/watchedConnection.js';
import { wakeStatements } from '../sql/wakeStatements.js';

/** How long the unlock may take before its connection is taken for dead. */
export const UNLOCK_TIMEOUT_MS = 2000;

export interface WakeLockOptions {
  connectionString: string;
  schema: string;
  log: Logger;
  /** The lock (or the request for it) was lost with its connection. */
  onLost(): void;
}

/** free: neither held nor asked for (the daemon polls). requested: waiting for it. held: sleeping on it. */
export type WakeLockState = 'free' | 'requested' | 'held';

export class WakeLock {
  private client: pg.Client | undefined;
  private current: WakeLockState = 'free';
  private closed = false;
  private warned = false;
  private readonly sql;

  constructor(private readonly options: WakeLockOptions) {
    this.sql = wakeStatements(options.schema);
  }

  get state(): WakeLockState {
    return this.current;
  }

  /** Asks for the lock without waiting for it; `onGranted` runs once it is held. */
  request(onGranted: () => void): void {
    if (this.current !== 'free' || this.closed) return;
    this.current = 'requested';
    void (async () => {
      try {
        const client = await this.connect();
        if (this.current !== 'requested' || this.client !== client) return;
        await client.query(this.sql.hold);
        if (this.current !== 'requested' || this.client !== client) return;
        this.current = 'held';
        this.warned = false;
        onGranted();
      } catch (error) {
        if (this.current !== 'requested') return; // let go of on purpose (letGo, close)
        this.current = 'free';
        if (!this.warned) this.options.log.warn({ err: error }, 'could not take the wake lock; polling until it is back');
        this.warned = true;
        // Try again after a pause rather than at once: the database may be down.
        setTimeout(() => this.options.onLost(), 1000).unref();
      }
    })();
  }

  /**
   * Lets go (this daemon is busy and polls): a held lock is unlocked, a waiting request is dropped with
   * its connection (a blocking lock request cannot be withdrawn otherwise).
   */
  async letGo(): Promise<void> {
    const was = this.current;
    const client = this.client;
    this.current = 'free';
    if (was === 'requested') this.drop(client, false);
    if (was !== 'held' || !client) return;
    try {
      await client.query(withQueryTimeout({ ...this.sql.unlock }, UNLOCK_TIMEOUT_MS));
    } catch (error) {
      this.options.log.warn({ err: error }, 'could not let the wake lock go; dropping its connection');
      this.drop(client, false);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.current = 'free';
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private async connect(): Promise<pg.Client> {
    if (this.client) return this.client;
    const client = await openWatchedConnection({
      connectionString: this.options.connectionString,
      applicationName: 'pg-event-triggers wake',
      onLost: (lost) => this.drop(lost, true),
    });
    // Closed while connecting: nothing may stay open after close().
    if (this.closed) {
      await closeWatchedConnection(client);
      throw new Error('the wake lock is closed');
    }
    // A request let go is dropped with its connection, but PostgreSQL does not look at a client while its
    // backend waits for a lock: the backend would stay in the lock's queue, a connection held and a
    // waiter ahead of the next request, until granted. From PostgreSQL 14 it checks every second.
    await client.query(this.sql.checkClientWhileWaiting).catch(() => undefined);
    this.client = client;
    return client;
  }

  private drop(client: pg.Client | undefined, unexpected: boolean): void {
    if (!client || this.client !== client) return;
    this.client = undefined;
    void closeWatchedConnection(client);
    if (!unexpected || this.closed || this.current === 'free') return;
    this.current = 'free';
    this.options.log.warn('wake lock connection lost; polling until the lock is back');
    this.options.onLost();
  }
}
