/**
 * Releases events in the database, in batches (the group-commit batcher, lib/batcher.ts), when an actor
 * gives up an event this instance still holds. Without this the event stayed locked by a live instance,
 * which neither a claim nor a takeover touches, until the daemon restarted.
 *
 * Two ways, as the event machine asks:
 * - handBack: due as before. The event may not be sent now (its endpoint's circuit is open); the claim
 *   leaves it alone until the circuit lets it through.
 * - letGo: due again only after LET_GO_DELAY_MS. Something kept this daemon from delivering it (its
 *   trigger could not be found, a database blip while looking it up, an outcome the database refuses)
 *   and would otherwise have the daemons fetch it and let it go in a loop. Hasura retries an event whose
 *   trigger it cannot find after a minute too.
 * At drain, what is still queued is left to drain's release of everything.
 */
import type pg from 'pg';
import type { Logger } from 'pino';
import { Batcher } from '../lib/batcher.js';
import type { deliveryStatements } from '../sql/deliveryStatements.js';

/** How long an event that was let go waits before any daemon fetches it again. */
export const LET_GO_DELAY_MS = 60_000;

export interface ReleaserOptions {
  pool: pg.Pool;
  sql: ReturnType<typeof deliveryStatements>;
  instanceId: string;
  log: Logger;
  letGoDelayMs?: number;
}

interface Release {
  eventId: string;
  delayMs: number;
}

export class Releaser {
  private readonly batcher: Batcher<Release>;
  private readonly letGoDelayMs: number;

  constructor(private readonly options: ReleaserOptions) {
    this.letGoDelayMs = options.letGoDelayMs ?? LET_GO_DELAY_MS;
    this.batcher = new Batcher<Release>({
      write: (batch) => this.write(batch),
      maxBatch: 1000,
      log: options.log,
      failureMessage: 'could not release events in the database',
    });
  }

  /** Releases the event, due again only after a while. */
  letGo(eventId: string): void {
    this.batcher.add({ eventId, delayMs: this.letGoDelayMs });
  }

  /** Releases the event, due as before. */
  handBack(eventId: string): void {
    this.batcher.add({ eventId, delayMs: 0 });
  }

  /** Refuses further releases and waits (up to timeoutMs) for a write under way. */
  async stop(timeoutMs: number): Promise<void> {
    await this.batcher.stop(timeoutMs);
  }

  private async write(batch: Release[]): Promise<void> {
    const byDelay = new Map<number, string[]>();
    for (const { eventId, delayMs } of batch) {
      const ids = byDelay.get(delayMs) ?? [];
      if (ids.length === 0) byDelay.set(delayMs, ids);
      ids.push(eventId);
    }
    for (const [delayMs, ids] of byDelay) {
      await this.options.pool.query({ ...this.options.sql.release, values: [ids, this.options.instanceId, delayMs] });
    }
  }
}
