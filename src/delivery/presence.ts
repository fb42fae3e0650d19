/**
 * This daemon's presence on the catalog: a row in instances with a heartbeat, and a session advisory
 * lock held on a dedicated connection. Other daemons take over this instance's events when the heartbeat
 * lapses or the session is gone (see instance_alive in the catalog migration), so a killed daemon's
 * events move on within a third of the heartbeat timeout, and a hung one's within the timeout.
 */
import { hostname } from 'node:os';
import pg from 'pg';
import type { Logger } from 'pino';
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
  private failures = 0;
  private readonly sql;
  /** Beats six times per timeout: two missed beats still leave the instance alive. */
  readonly intervalMs: number;

  constructor(private readonly options: PresenceOptions) {
    this.sql = presenceStatements(options.schema);
    this.intervalMs = Math.max(100, Math.floor(options.heartbeatTimeoutMs / 6));
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
    await client.query({ ...this.sql.deregister, values: [this.options.instanceId] }).catch(() => undefined);
    await client.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({
      connectionString: this.options.connectionString,
      application_name: 'pg-event-triggers presence',
      keepAlive: true,
      connectionTimeoutMillis: 10_000,
    });
    client.on('error', () => this.reconnect(client));
    client.on('end', () => this.reconnect(client));
    await client.connect();
    const { rows } = await client.query<{ locked: boolean }>({
      ...this.sql.register,
      values: [this.options.instanceId, hostname(), process.pid],
    });
    if (!rows[0]?.locked) this.options.log.warn('presence lock is held by another session; relying on heartbeats');
    this.client = client;
  }

  private async beat(): Promise<void> {
    const client = this.client;
    if (!client || this.reconnecting) return;
    try {
      await client.query({ ...this.sql.heartbeat, values: [this.options.instanceId] });
    } catch {
      this.reconnect(client);
    }
  }

  /** Reconnects with jittered exponential backoff (0.1 s doubling to 5 s) until it works or we stop. */
  private reconnect(failed: pg.Client): void {
    if (this.stopped || this.reconnecting || this.client !== failed) return;
    this.reconnecting = true;
    failed.removeAllListeners();
    failed.on('error', () => undefined);
    void failed.end().catch(() => undefined);
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
          const delay = Math.min(5000, 100 * 2 ** Math.min(this.failures, 6)) * (0.5 + Math.random() / 2);
          await new Promise((resolve) => setTimeout(resolve, delay));
        }
      }
      this.reconnecting = false;
    };
    void attempt();
  }
}
