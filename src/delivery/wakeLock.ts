/**
 * The wake lock, on a connection of its own: held while this daemon sleeps until NOTIFY, released while
 * it is busy and polls. Capture sends NOTIFY only while some daemon holds it (migration 3), because
 * PostgreSQL serialises the commits of every transaction that sends one.
 *
 * The lock is a session lock: if the connection drops, PostgreSQL releases it and capture stops sending
 * NOTIFY. `onLost` then wakes the engine, which polls until it holds the lock again.
 */
import pg from 'pg';
import type { Logger } from 'pino';
import { wakeStatements } from '../sql/wakeStatements.js';

export interface WakeLockOptions {
  connectionString: string;
  schema: string;
  log: Logger;
  /** The connection (and with it the lock) was lost while held. */
  onLost(): void;
}

/**
 * - held: this daemon holds it; NOTIFYs will come.
 * - heldByAnother: another daemon holds it; NOTIFYs will come (every daemon LISTENs).
 * - contended: capturing transactions hold it shared right now; they skipped their NOTIFY, so try again.
 * - unavailable: no connection.
 */
export type WakeLockState = 'held' | 'heldByAnother' | 'contended' | 'unavailable';

export class WakeLock {
  private client: pg.Client | undefined;
  private connecting: Promise<pg.Client> | undefined;
  private isHeld = false;
  private closed = false;
  private warned = false;
  private readonly sql;

  constructor(private readonly options: WakeLockOptions) {
    this.sql = wakeStatements(options.schema);
  }

  get held(): boolean {
    return this.isHeld;
  }

  /** Takes the lock if it can, without waiting. */
  async hold(): Promise<WakeLockState> {
    if (this.isHeld) return 'held';
    if (this.closed) return 'unavailable';
    let client: pg.Client;
    try {
      client = await this.connect();
      const { rows } = await client.query<{ held: boolean; held_by_another: boolean }>(this.sql.hold);
      if (rows[0]?.held) {
        this.isHeld = true;
        this.warned = false;
        return 'held';
      }
      return rows[0]?.held_by_another ? 'heldByAnother' : 'contended';
    } catch (error) {
      if (!this.warned) this.options.log.warn({ err: error }, 'wake lock connection failed; polling until it is back');
      this.warned = true;
      return 'unavailable';
    }
  }

  /** Lets go of the lock (this daemon is busy and polls): capture stops sending NOTIFY. */
  async release(): Promise<void> {
    if (!this.isHeld) return;
    this.isHeld = false;
    await this.client?.query(this.sql.release).catch(() => this.drop(this.client));
  }

  async close(): Promise<void> {
    this.closed = true;
    this.isHeld = false;
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private connect(): Promise<pg.Client> {
    if (this.client) return Promise.resolve(this.client);
    this.connecting ??= (async () => {
      const client = new pg.Client({
        connectionString: this.options.connectionString,
        application_name: 'pg-event-triggers wake',
        keepAlive: true,
        connectionTimeoutMillis: 10_000,
      });
      client.on('error', () => this.drop(client));
      client.on('end', () => this.drop(client));
      try {
        await client.connect();
      } catch (error) {
        client.removeAllListeners();
        throw error;
      }
      this.client = client;
      return client;
    })().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  private drop(client: pg.Client | undefined): void {
    if (!client || this.client !== client) return;
    this.client = undefined;
    client.removeAllListeners();
    client.on('error', () => undefined);
    void client.end().catch(() => undefined);
    const wasHeld = this.isHeld;
    this.isHeld = false;
    if (wasHeld && !this.closed) {
      this.options.log.warn('wake lock connection lost; polling until it is back');
      this.options.onLost();
    }
  }
}
