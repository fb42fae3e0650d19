/**
 * Hands events back to the database, in batches, when an actor lets go of one this instance still holds
 * (the `releaseLock` action of machines/event.machine.ts): its trigger could not be found, its outcome
 * could not be written, or it was cancelled other than by drain. Without this the event stayed locked by
 * a live instance, which neither a fetch nor a takeover touches, until the daemon restarted.
 *
 * A released event is due again only after LET_GO_DELAY_MS: what made the actor let go (a trigger
 * missing from the catalog, a database blip while looking it up, an outcome the database refuses) would
 * otherwise have the daemons fetch it and let it go again in a loop. Hasura retries an event whose
 * trigger it cannot find after a minute too. A write that fails (the database is down) is retried with
 * backoff; at drain, what is still queued is left to drain's release of everything.
 */
import type pg from 'pg';
import type { Logger } from 'pino';
import type { deliveryStatements } from '../sql/deliveryStatements.js';

/** How long a handed-back event waits before any daemon fetches it again. */
export const LET_GO_DELAY_MS = 60_000;

export interface ReleaserOptions {
  pool: pg.Pool;
  sql: ReturnType<typeof deliveryStatements>;
  instanceId: string;
  log: Logger;
  delayMs?: number;
}

export class Releaser {
  private readonly queue = new Set<string>();
  private flushing: Promise<void> | undefined;
  private stopped = false;
  private failures = 0;
  private readonly delayMs: number;

  constructor(private readonly options: ReleaserOptions) {
    this.delayMs = options.delayMs ?? LET_GO_DELAY_MS;
  }

  /** Queues the event's release; written with the others released meanwhile, in one statement. */
  release(eventId: string): void {
    if (this.stopped) return;
    this.queue.add(eventId);
    this.flushing ??= this.flush().finally(() => (this.flushing = undefined));
  }

  /** Refuses further releases and waits (up to timeoutMs) for a write under way. */
  async stop(timeoutMs: number): Promise<void> {
    this.stopped = true;
    const deadline = new Promise<void>((resolve) => setTimeout(resolve, timeoutMs).unref());
    await Promise.race([this.flushing ?? Promise.resolve(), deadline]);
  }

  private async flush(): Promise<void> {
    // Yield once so that actors letting go in the same tick (a cancel of many) share the write.
    await new Promise((resolve) => setImmediate(resolve));
    while (this.queue.size > 0 && !this.stopped) {
      const ids = [...this.queue].slice(0, 1000);
      for (const id of ids) this.queue.delete(id);
      try {
        await this.options.pool.query({ ...this.options.sql.releaseHeld, values: [ids, this.options.instanceId, this.delayMs] });
        this.failures = 0;
      } catch (error) {
        for (const id of ids) this.queue.add(id);
        this.failures += 1;
        if (this.failures === 1 || this.failures % 20 === 0) {
          this.options.log.warn({ err: error, pending: this.queue.size }, 'could not hand events back to the database; retrying');
        }
        await new Promise((resolve) => setTimeout(resolve, Math.min(5000, 100 * 2 ** Math.min(this.failures, 6))));
      }
    }
  }
}
