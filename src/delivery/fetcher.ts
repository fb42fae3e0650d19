/**
 * The engine's fetch loop: claims due events (FOR UPDATE SKIP LOCKED) and hands them to the engine, which
 * makes each an actor. Woken by NOTIFY while quiet, polling while busy (see wakeLock.ts), and waiting for
 * room when the claim window is full.
 */
import type pg from 'pg';
import type { Logger } from 'pino';
import type { deliveryStatements } from '../sql/deliveryStatements.js';
import type { WakeLock } from './wakeLock.js';
import type { ClaimedEvent } from './webhookClient.js';

export interface FetcherOptions {
  pool: pg.Pool;
  sql: ReturnType<typeof deliveryStatements>;
  instanceId: string;
  httpPoolSize: number;
  fetchBatchSize: number;
  pollIntervalMs: number;
  /** While busy (polling rather than waiting for NOTIFY), fetch at most once per gatherMs. */
  gatherMs: number;
  wakeLock: WakeLock;
  log: Logger;
}

/** What the fetch loop needs of the engine. */
export interface FetcherHost {
  /** False once the engine drains: the loop ends. */
  running(): boolean;
  /** Claimed events queued for a slot of the HTTP pool, and those delivering. */
  queued(): number;
  delivering(): number;
  /** Makes actors of freshly claimed events. */
  adopt(rows: ClaimedEvent[]): void;
}

/** Above this many events claimed per second, the engine polls instead of waiting for NOTIFY. */
export const POLL_ABOVE_PER_SECOND = 1000;

export class Fetcher {
  private nudged = false;
  private wake: (() => void) | undefined;
  private waitingForRoom = false;
  private loop: Promise<void> | undefined;
  readonly stats = { claimed: 0, fetches: 0, wakeLockReleased: 0 };

  constructor(
    private readonly options: FetcherOptions,
    private readonly host: FetcherHost,
  ) {}

  start(): void {
    this.loop ??= this.run();
  }

  /** Ends the loop: call once the host no longer runs. Resolves when it has. */
  async stop(): Promise<void> {
    this.wakeLoop();
    await this.loop;
  }

  /** A NOTIFY (or anything else) says events may be waiting: fetch now. */
  nudge(): void {
    this.nudged = true;
    this.wakeLoop();
  }

  /** Wakes the loop if it waits for room in the claim window (not if it waits for NOTIFY). */
  roomFreed(): void {
    if (this.waitingForRoom) this.wakeLoop();
  }

  private wakeLoop(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /**
   * Keeps up to one batch claimed beyond what the HTTP pool is delivering, so the next batch is at
   * hand when slots free up.
   *
   * Quiet: after a short fetch the loop sleeps until a NOTIFY (or the poll interval), holding the wake
   * lock so that capture sends NOTIFYs at all (see wakeLock.ts). Busy (more than POLL_ABOVE_PER_SECOND
   * events claimed): it lets the lock go, capture stops sending NOTIFYs, whose commits PostgreSQL
   * serialises, and the loop polls every gatherMs instead. A full fetch (a backlog) is followed at once.
   * Letting the lock go is bounded (wakeLock.ts): a half-open wake connection cannot stall the loop.
   *
   * Gathering, while polling: after a short fetch, the next one waits until gatherMs have passed since
   * it, so a stream of small commits is claimed many events per round trip rather than one or two
   * (measured: 2.9 events per fetch when every commit woke a fetch). A NOTIFY is fetched for at once.
   */
  private async run(): Promise<void> {
    const { httpPoolSize, fetchBatchSize, pollIntervalMs, gatherMs, wakeLock, pool, sql, instanceId, log } = this.options;
    const capacity = httpPoolSize + fetchBatchSize;
    const minFetch = Math.max(1, Math.floor(fetchBatchSize / 2));
    let failures = 0;
    let lastShortFetchAt = Number.NEGATIVE_INFINITY;
    const rate = new ClaimRate();
    while (this.host.running()) {
      const room = capacity - this.host.queued() - this.host.delivering();
      if (room < minFetch && this.host.queued() > 0) {
        this.waitingForRoom = true;
        await this.sleep(pollIntervalMs);
        this.waitingForRoom = false;
        continue;
      }
      // Only while polling: when NOTIFYs flow, the wake-up itself is the signal to fetch.
      const gatherFor = wakeLock.state === 'free' ? lastShortFetchAt + gatherMs - performance.now() : 0;
      if (gatherFor > 0) {
        await new Promise((resolve) => setTimeout(resolve, gatherFor));
        if (!this.host.running()) break;
      }
      this.nudged = false;
      const wanted = Math.min(room, fetchBatchSize);
      let rows: ClaimedEvent[];
      try {
        ({ rows } = await pool.query<ClaimedEvent>({ ...sql.claimDue, values: [instanceId, wanted] }));
        if (failures > 0) log.info('fetching events again');
        failures = 0;
      } catch (error) {
        failures += 1;
        if (failures === 1 || failures % 30 === 0) log.warn({ err: error }, 'could not fetch events; retrying');
        await this.sleep(Math.min(5000, 100 * 2 ** Math.min(failures, 6)));
        continue;
      }
      this.stats.fetches += 1;
      this.stats.claimed += rows.length;
      if (!this.host.running()) {
        // Drain began while the fetch was under way: hand the rows straight back.
        if (rows.length) await pool.query({ ...sql.release, values: [rows.map((r) => r.id), instanceId] });
        break;
      }
      this.host.adopt(rows);
      const perSecond = rate.add(rows.length);
      // Hysteresis: let the lock go above the threshold, ask for it again only well below it.
      const busy = perSecond >= (wakeLock.state === 'free' ? POLL_ABOVE_PER_SECOND / 2 : POLL_ABOVE_PER_SECOND);
      if (busy && wakeLock.state !== 'free') {
        await wakeLock.release();
        this.stats.wakeLockReleased += 1;
      }
      if (rows.length >= wanted) continue;
      lastShortFetchAt = performance.now();
      if (busy) continue;
      // Quiet: sleep until NOTIFY. Once the lock is granted, every transaction that skipped its NOTIFY
      // has ended: the grant nudges the loop into one more fetch, which sees their events. While the
      // request waits, capture sends NOTIFYs, so sleeping meanwhile is safe.
      if (wakeLock.state === 'free') wakeLock.request(() => this.nudge());
      if (!this.nudged) await this.sleep(pollIntervalMs);
    }
  }
}

/** Events claimed per second, over windows of about 100 ms. */
class ClaimRate {
  private windowStart = performance.now();
  private count = 0;
  private perSecond = 0;

  /** The rate of the last full window, or of the current one as soon as it alone is higher. */
  add(claimed: number): number {
    this.count += claimed;
    const now = performance.now();
    const elapsed = now - this.windowStart;
    const current = (this.count * 1000) / Math.max(elapsed, 100);
    if (elapsed >= 100) {
      this.perSecond = current;
      this.windowStart = now;
      this.count = 0;
    }
    return Math.max(this.perSecond, current);
  }
}
