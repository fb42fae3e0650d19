/**
 * This daemon's presence on the catalog: a row in instances with a heartbeat, and a session advisory
 * lock held on a dedicated connection. Other daemons take over this instance's events when the heartbeat
 * lapses or the session is gone (see instance_alive in the catalog migration), so a killed daemon's
 * events move on within a third of the heartbeat timeout, and a hung one's within the timeout.
 *
 * The connection is watched, not trusted: a half-open socket (a peer gone without a FIN or RST) would
 * let a heartbeat wait for minutes, until the OS gives up, while other daemons see the heartbeat lapse.
 * So keepalive probes start after KEEPALIVE_IDLE_MS idle, each statement has a timeout, and a heartbeat
 * that times out reconnects.
 */
import { hostname } from 'node:os';
import type pg from 'pg';
import type { Logger } from 'pino';
import { closeWatchedConnection, openWatchedConnection, withQueryTimeout } from '../db/watchedConnection.js';
import { backoffDelayMs, DATABASE_RETRY } from '../lib/backoff.js';
import { presenceStatements } from '../sql/presenceStatements.js';

export interface PresenceOptions {
  connectionString: string;
  schema: string;
  instanceId: string;
  heartbeatTimeoutMs: number;
  log: Logger;
}

export class Presence {
  private client: pg.Client | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private reconnecting = false;
  private beating = false;
  private failures = 0;
  private readonly sql;
  /** Beats six times per timeout: two missed beats still leave the instance alive. */
  readonly intervalMs: number;
  /**
   * How long a presence statement may take before the connection is taken for dead: two beats, at least
   * 2 s. A hung connection is then replaced well within the heartbeat timeout (10 s of the default 30 s);
   * a database merely slow for a moment costs a reconnect, not the instance's events.
   */
  readonly statementTimeoutMs: number;

  constructor(private readonly options: PresenceOptions) {
    this.sql = presenceStatements(options.schema);
    this.intervalMs = Math.max(100, Math.floor(options.heartbeatTimeoutMs / 6));
    this.statementTimeoutMs = Math.max(2000, 2 * this.intervalMs);
  }

  get connected(): boolean {
    return this.client !== undefined && !this.reconnecting;
  }

  async start(): Promise<void> {
    await this.connect();
    this.timer = setInterval(() => void this.beat(), this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    await client
      .query(withQueryTimeout({ ...this.sql.deregister, values: [this.options.instanceId] }, this.statementTimeoutMs))
      .catch(() => undefined);
    await closeWatchedConnection(client);
  }

  private async connect(): Promise<void> {
    const client = await openWatchedConnection({
      connectionString: this.options.connectionString,
      applicationName: 'pg-event-triggers presence',
      onLost: (lost) => this.reconnect(lost),
    });
    try {
      await this.register(client);
    } catch (error) {
      await closeWatchedConnection(client);
      throw error;
    }
    this.client = client;
  }

  /** Upserts this instance's row and takes its presence lock (the key is the row's lock_key). */
  private async register(client: pg.Client): Promise<void> {
    const { rows } = await client.query<{ locked: boolean }>(
      withQueryTimeout({ ...this.sql.register, values: [this.options.instanceId, hostname(), process.pid] }, this.statementTimeoutMs),
    );
    if (!rows[0]?.locked) this.options.log.warn('presence lock is held by another session; relying on heartbeats');
  }

  private async beat(): Promise<void> {
    const client = this.client;
    // A beat still waiting is not joined by another: queued beats would only pile up behind it.
    if (!client || this.reconnecting || this.beating) return;
    this.beating = true;
    try {
      const { rowCount } = await client.query(
        withQueryTimeout({ ...this.sql.heartbeat, values: [this.options.instanceId] }, this.statementTimeoutMs),
      );
      if (rowCount === 0) await this.registerAgain(client);
    } catch {
      this.reconnect(client);
    } finally {
      this.beating = false;
    }
  }

  /**
   * The row is gone: this daemon stalled (a VM pause, a long GC) past the heartbeat timeout, another
   * daemon took its events over and forgot the instance. Without a row, everything it claims from now on
   * looks orphaned and is taken over again and again, so it registers again, under a new lock_key: the
   * session's old presence lock, keyed by a lock_key no row has any more, is let go first.
   */
  private async registerAgain(client: pg.Client): Promise<void> {
    this.options.log.warn(
      { instanceId: this.options.instanceId },
      "this instance's row was gone (its heartbeat lapsed and another daemon forgot it); registering again",
    );
    await client.query(withQueryTimeout({ ...this.sql.unlockAll }, this.statementTimeoutMs));
    await this.register(client);
  }

  /** Reconnects with the reconnect backoff (lib/backoff.ts) until it works or we stop. */
  private reconnect(failed: pg.Client): void {
    if (this.stopped || this.reconnecting || this.client !== failed) return;
    this.reconnecting = true;
    void closeWatchedConnection(failed);
    this.options.log.warn('presence connection lost; reconnecting');
    const attempt = async (): Promise<void> => {
      while (!this.stopped) {
        try {
          await this.connect();
          this.failures = 0;
          this.options.log.info('presence connection restored');
          break;
        } catch {
          this.failures += 1;
          await new Promise((resolve) => setTimeout(resolve, backoffDelayMs(DATABASE_RETRY, this.failures)));
        }
      }
      this.reconnecting = false;
    };
    void attempt();
  }
}
