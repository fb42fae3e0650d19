/**
 * The takeover loop: claims the events held by daemon instances that are gone (their heartbeat lapsed,
 * or their session ended: see instance_alive in the catalog), this daemon's previous life included, and
 * then forgets the gone instances that hold nothing. Run at boot (restoring) and six times per heartbeat
 * timeout while running.
 */
import type pg from 'pg';
import type { Logger } from 'pino';
import type { deliveryStatements } from '../sql/deliveryStatements.js';
import type { ClaimedEvent } from './webhookClient.js';

/** Most events taken over per check: a daemon that held more hands the rest to the next check. */
const TAKEOVER_BATCH = 100_000;

export interface TakeoverOptions {
  pool: pg.Pool;
  sql: ReturnType<typeof deliveryStatements>;
  instanceId: string;
  heartbeatTimeoutMs: number;
  intervalMs: number;
  /** Makes actors of the events taken over (or parks them). */
  adopt(rows: ClaimedEvent[]): Promise<void>;
  log: Logger;
}

export class Takeover {
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: TakeoverOptions) {}

  /** Takes over what gone instances hold; the number of events taken. */
  async check(): Promise<number> {
    const { pool, sql, instanceId, heartbeatTimeoutMs, log } = this.options;
    const { rows } = await pool.query<ClaimedEvent>({ ...sql.takeOver, values: [instanceId, heartbeatTimeoutMs, TAKEOVER_BATCH] });
    await this.options.adopt(rows);
    await pool.query({ ...sql.forgetGoneInstances, values: [instanceId, heartbeatTimeoutMs] });
    if (rows.length) log.info({ events: rows.length }, 'took over events of instances that are gone');
    return rows.length;
  }

  start(): void {
    this.timer ??= setInterval(() => {
      this.check().catch((error) => this.options.log.warn({ err: error }, 'takeover check failed'));
    }, this.options.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
