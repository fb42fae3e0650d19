/**
 * The engine's fetch loop: claims due events (claim_due: trigger by trigger, FOR UPDATE SKIP LOCKED) and
 * hands them to the engine, which makes each an actor. Woken by NOTIFY while quiet, polling while busy
 * (see wakeLock.ts), by a trigger that has room again after its claim filled it, and when a rate-limited
 * trigger has its next token.
 */
import type pg from 'pg';
import type { Logger } from 'pino';
import type { DeliveryMetrics } from '../metrics/deliveryMetrics.js';
import type { deliveryStatements } from '../sql/deliveryStatements.js';
import { backoffDelayMs, DATABASE_RETRY } from '../lib/backoff.js';
import type { WakeLock } from './wakeLock.js';
import type { ClaimRooms } from './scheduler.js';
import type { ClaimedEvent } from './webhookClient.js';

export interface FetcherOptions {
  pool: pg.Pool;
  sql: ReturnType<typeof deliveryStatements>;
  instanceId: string;
  fetchBatchSize: number;
  pollIntervalMs: number;
  /** While busy (polling rather than waiting for NOTIFY), fetch at most once per gatherMs. */
  gatherMs: number;
  wakeLock: WakeLock;
  metrics: Pick<DeliveryMetrics, 'fetchedBatch'>;
  log: Logger;
}

/** A claimed row: an event, its endpoint's probe, or a note on a flow-limited trigger (see claim_due). */
export type ClaimRow = ClaimedEvent & { note: 'probe' | 'throttled' | 'limited' | null };

/** What the fetch loop needs of the engine. */
export interface FetcherHost {
  /** False once the engine drains: the loop ends. */
  running(): boolean;
  /** How much the next claim may take of each trigger (the scheduler's shares). */
  claimRooms(): ClaimRooms;
  /** Whether every trigger with events here is at its share of the window (none worth a claim). */
  saturated(): boolean;
  /**
   * Whether some trigger has a flow_control limit or a circuit that is not closed: their events are
   * claimed only by claimFlowControlled (the plain claim leaves them in the database, so a view of them
   * that lags behind the catalog holds nothing back wrongly).
   */
  flowControlled(): boolean;
  /** Makes actors of freshly claimed events (probes included). */
  adopt(rows: ClaimRow[]): void;
}

/**
 * Busy (no NOTIFY comes) with every trigger it holds at its share, the loop looks for events of other
 * triggers this often: their wait while another trigger's endpoint is slow.
 */
const SATURATED_LOOK_MS = 25;

/** How long a probe of an open circuit is this daemon's beyond the trigger's timeout_sec. */
export const PROBE_LEASE_MS = 10_000;

/** Above this many events claimed per second, the engine polls instead of waiting for NOTIFY. */
export const POLL_ABOVE_PER_SECOND = 1000;

export class Fetcher {
  private nudged = false;
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  /** Busy, and every trigger held here at its share: the loop sleeps until one has room. */
  private waitingForRoom = false;
  /** Triggers whose last claim took all the room they had: they may have more due. */
  private readonly backlogged = new Set<string>();
  private throttleTimer: NodeJS.Timeout | undefined;
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
    clearTimeout(this.throttleTimer);
    this.wakeLoop();
    await this.loop;
  }

  /** A NOTIFY (or anything else) says events may be waiting: fetch now. */
  nudge(): void {
    this.nudged = true;
    this.wakeLoop();
  }

  /**
   * A trigger's events left the claim window: fetch now if `hasRoom` says a claim is worth it again, and
   * the loop waits for room, or the trigger's last claim filled its room (it may have more due).
   */
  roomFreed(triggerName: string, hasRoom: () => boolean): void {
    if (!this.waitingForRoom && !this.backlogged.has(triggerName)) return;
    if (!hasRoom()) return;
    this.backlogged.delete(triggerName);
    this.nudge();
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
   * Claims what each trigger has room for (the scheduler's shares of the claim window: a trigger whose
   * events cannot go out holds its share and no more, so the others are still claimed).
   *
   * Quiet: after a short fetch the loop sleeps until a NOTIFY (or the poll interval), holding the wake
   * lock so that capture sends NOTIFYs at all (see wakeLock.ts). Busy (more than POLL_ABOVE_PER_SECOND
   * events claimed): it lets the lock go, capture stops sending NOTIFYs, whose commits PostgreSQL
   * serialises, and the loop polls every gatherMs instead. While every trigger it holds is at its share
   * (saturated), it sleeps until one has room, woken meanwhile for other triggers by NOTIFY (quiet) or
   * every SATURATED_LOOK_MS (busy). A trigger whose endpoint hangs claims nothing, so it does not keep the
   * daemon busy: the others' events wake it by NOTIFY. A full fetch (some trigger took all its room:
   * a backlog) is followed at once. Letting the lock go is bounded (wakeLock.ts): a half-open wake
   * connection cannot stall the loop.
   *
   * Gathering, while polling: after a short fetch, the next one waits until gatherMs have passed since
   * it, so a stream of small commits is claimed many events per round trip rather than one or two
   * (measured: 2.9 events per fetch when every commit woke a fetch). A NOTIFY is fetched for at once.
   */
  private async run(): Promise<void> {
    const { pollIntervalMs, gatherMs, wakeLock, pool, sql, instanceId, metrics, log } = this.options;
    let failures = 0;
    let lastShortFetchAt = Number.NEGATIVE_INFINITY;
    const rate = new ClaimRate();
    let busy = false;
    while (this.host.running()) {
      if (this.host.saturated() && !this.nudged) {
        // Every trigger held here has all it may hold: a claim now would find no room for them. Sleep until
        // one has room (roomFreed), then claim. A trigger not held here yet is claimed for when a NOTIFY
        // comes (quiet: the lock is asked for) or, busy, at the next look (no NOTIFY comes then).
        if (!busy && wakeLock.state === 'free') wakeLock.request(() => this.nudge());
        this.waitingForRoom = true;
        await this.sleep(wakeLock.state === 'free' ? SATURATED_LOOK_MS : pollIntervalMs);
        this.waitingForRoom = false;
        if (!this.host.running()) break;
      }
      // Only while polling: when NOTIFYs flow, the wake-up itself is the signal to fetch.
      const gatherFor = wakeLock.state === 'free' ? lastShortFetchAt + gatherMs - performance.now() : 0;
      if (gatherFor > 0) {
        await new Promise((resolve) => setTimeout(resolve, gatherFor));
        if (!this.host.running()) break;
      }
      this.nudged = false;
      const rooms = this.host.claimRooms();
      let rows: ClaimRow[];
      const fetchStarted = performance.now();
      try {
        ({ rows } = await pool.query<ClaimRow>(
          this.host.flowControlled()
            ? { ...sql.claimFlowControlled, values: [instanceId, rooms.names, rooms.rooms, rooms.defaultRoom, PROBE_LEASE_MS] }
            : { ...sql.claimDue, values: [instanceId, rooms.names, rooms.rooms, rooms.defaultRoom] },
        ));
        if (failures > 0) log.info('fetching events again');
        failures = 0;
      } catch (error) {
        failures += 1;
        if (failures === 1 || failures % 30 === 0) log.warn({ err: error }, 'could not fetch events; retrying');
        await this.sleep(backoffDelayMs(DATABASE_RETRY, failures));
        continue;
      }
      const events = rows.filter((r) => r.note !== 'throttled' && r.note !== 'limited');
      this.stats.fetches += 1;
      this.stats.claimed += events.length;
      metrics.fetchedBatch(events.length, (performance.now() - fetchStarted) / 1000);
      if (!this.host.running()) {
        // Drain began while the fetch was under way: hand the rows straight back.
        if (events.length) await pool.query({ ...sql.release, values: [events.map((r) => r.id), instanceId, 0] });
        break;
      }
      this.host.adopt(events);
      this.scheduleThrottled(rows);
      const full = this.noteBacklogs(events, rooms);
      // At its max_in_flight: claim again as soon as one of its events here is settled.
      for (const r of rows) if (r.note === 'limited') this.backlogged.add(r.trigger_name);
      const perSecond = rate.add(events.length);
      // Hysteresis: let the lock go above the threshold, ask for it again only well below it.
      busy = perSecond >= (wakeLock.state === 'free' ? POLL_ABOVE_PER_SECOND / 2 : POLL_ABOVE_PER_SECOND);
      if (busy && wakeLock.state !== 'free') {
        await wakeLock.letGo();
        this.stats.wakeLockReleased += 1;
      }
      if (full || this.host.saturated()) continue;
      lastShortFetchAt = performance.now();
      if (busy) continue;
      // Quiet: sleep until NOTIFY. Once the lock is granted, every transaction that skipped its NOTIFY
      // has ended: the grant nudges the loop into one more fetch, which sees their events. While the
      // request waits, capture sends NOTIFYs, so sleeping meanwhile is safe.
      if (wakeLock.state === 'free') wakeLock.request(() => this.nudge());
      if (!this.nudged) await this.sleep(pollIntervalMs);
    }
  }

  /**
   * Remembers which triggers took all the room they were offered (they may have more due: fetch again
   * when they have room) and whether any did (then fetch again at once, with the rooms that are left).
   */
  private noteBacklogs(events: ClaimRow[], rooms: ClaimRooms): boolean {
    const claimed = new Map<string, number>();
    for (const e of events) claimed.set(e.trigger_name, (claimed.get(e.trigger_name) ?? 0) + 1);
    const offered = new Map(rooms.names.map((name, i) => [name, rooms.rooms[i]!]));
    let full = false;
    for (const [name, count] of claimed) {
      if (count >= (offered.get(name) ?? rooms.defaultRoom)) {
        this.backlogged.add(name);
        full = true;
      }
    }
    return full;
  }

  /** A rate-limited trigger was held back by its bucket: fetch again when its next token comes. */
  private scheduleThrottled(rows: ClaimRow[]): void {
    let waitMs = Infinity;
    for (const r of rows) if (r.note === 'throttled') waitMs = Math.min(waitMs, Number(r.retry_in_ms));
    if (waitMs === Infinity) return;
    clearTimeout(this.throttleTimer);
    this.throttleTimer = setTimeout(() => this.nudge(), Math.min(Math.max(waitMs, 1), this.options.pollIntervalMs));
    this.throttleTimer.unref();
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
