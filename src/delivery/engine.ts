/**
 * The delivery engine: one event actor per claimed event, a bounded number of them delivering at once,
 * fed by the fetch loop (fetcher.ts), takeover of the events of daemons that are gone, and a graceful
 * drain.
 *
 * The database is the truth; actors are its live view. Every verdict is written (recorder.ts) before an
 * actor moves on, and every event an actor holds is locked by this instance in event_log.
 */
import { createActor, type Actor, type InspectionEvent, type Observer } from 'xstate';
import type pg from 'pg';
import type { Logger } from 'pino';
import { eventMachine, type AttemptReport, type CancelReason, type EventContext } from '../../machines/event.machine.js';
import type { RecordReport } from '../../machines/event.machine.js';
import type { LocalEngine } from '../api/operations/context.js';
import type { ChannelCommand } from '../catalog/channel.js';
import type { TriggerRegistry } from '../catalog/triggerRegistry.js';
import { deliveryStatements } from '../sql/deliveryStatements.js';
import { Fetcher } from './fetcher.js';
import { Recorder } from './recorder.js';
import { Releaser } from './releaser.js';
import type { WakeLock } from './wakeLock.js';
import type { ClaimedEvent, InvocationLog, WebhookCall, WebhookClient } from './webhookClient.js';

export interface EngineOptions {
  pool: pg.Pool;
  schema: string;
  instanceId: string;
  registry: TriggerRegistry;
  webhook: WebhookClient;
  httpPoolSize: number;
  fetchBatchSize: number;
  pollIntervalMs: number;
  /** While busy (polling rather than waiting for NOTIFY), fetch at most once per gatherMs. */
  gatherMs: number;
  /** Held while the fetch loop sleeps until NOTIFY; see wakeLock.ts. */
  wakeLock: WakeLock;
  heartbeatTimeoutMs: number;
  takeoverIntervalMs: number;
  maxWaitingEvents: number;
  invocationLogs: boolean;
  inspect?: Observer<InspectionEvent> | undefined;
  log: Logger;
}

interface LiveEvent {
  actor: Actor<typeof eventMachine>;
  event: ClaimedEvent;
  /** The webhook call under way, if any. */
  call: WebhookCall | undefined;
  /** The invocation log of the attempt being recorded (kept out of the actor's context). */
  pendingLog: InvocationLog | undefined;
}

type EventActor = Actor<typeof eventMachine>;

const TRIGGER_GONE: AttemptReport = {
  ok: false,
  status: null,
  retryAfterMs: null,
  numRetries: 0,
  intervalMs: 0,
  triggerGone: true,
  summary: 'the trigger was deleted',
};

export interface EngineStats {
  live: number;
  queued: number;
  delivering: number;
  waiting: number;
  claimed: number;
  fetches: number;
  recorderWrites: number;
  attemptsRecorded: number;
  /** Times the wake lock was let go because the daemon was busy (it polls meanwhile). */
  wakeLockReleased: number;
}

export class DeliveryEngine implements LocalEngine {
  readonly instanceId: string;
  private readonly live = new Map<string, LiveEvent>();
  /** Pending actors waiting for a slot, in arrival order. */
  private readonly queue = new Set<string>();
  private readonly delivering = new Set<string>();
  private readonly waiting = new Set<string>();
  private readonly sql;
  private readonly recorder: Recorder;
  private readonly releaser: Releaser;
  private readonly fetcher: Fetcher;
  private readonly machine;
  private state: 'idle' | 'running' | 'draining' | 'stopped' = 'idle';
  private pumpScheduled = false;
  private takeoverTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: EngineOptions) {
    this.instanceId = options.instanceId;
    this.sql = deliveryStatements(options.schema);
    this.recorder = new Recorder({
      pool: options.pool,
      sql: this.sql,
      instanceId: options.instanceId,
      log: options.log,
    });
    this.releaser = new Releaser({ pool: options.pool, sql: this.sql, instanceId: options.instanceId, log: options.log });
    this.fetcher = new Fetcher(
      { ...options, sql: this.sql },
      {
        running: () => this.state === 'running',
        queued: () => this.queue.size,
        delivering: () => this.delivering.size,
        adopt: (rows) => {
          for (const row of rows) this.spawn(row);
        },
      },
    );
    this.machine = this.provideMachine();
  }

  /** Claims the events of instances that are gone (this daemon's previous life included). */
  async restore(): Promise<number> {
    const { rows } = await this.options.pool.query<ClaimedEvent>({
      ...this.sql.takeOver,
      values: [this.instanceId, this.options.heartbeatTimeoutMs, 100_000],
    });
    await this.adopt(rows);
    await this.options.pool.query({ ...this.sql.forgetGoneInstances, values: [this.instanceId, this.options.heartbeatTimeoutMs] });
    if (rows.length) this.options.log.info({ events: rows.length }, 'took over events of instances that are gone');
    return rows.length;
  }

  start(): void {
    if (this.state !== 'idle') return;
    this.state = 'running';
    // Events restored before start() queued for a slot while pump() still refused to run (state idle).
    // Grant their slots now: otherwise, when they fill the claim window beyond what the fetch loop
    // tops up, nothing ever pumps the queue and the daemon stalls with the events locked.
    this.schedulePump();
    this.fetcher.start();
    this.takeoverTimer = setInterval(() => {
      this.restore().catch((error) => this.options.log.warn({ err: error }, 'takeover check failed'));
    }, this.options.takeoverIntervalMs);
    this.takeoverTimer.unref();
  }

  /** A NOTIFY (or anything else) says events may be waiting: fetch now. */
  nudge(): void {
    this.fetcher.nudge();
  }

  handleCommand(command: ChannelCommand): void {
    if (command.kind === 'redeliver' && command.instanceId === this.instanceId) this.redeliver(command.eventId, command.generation);
    if (command.kind === 'triggers-changed') void this.onTriggerChanged(command.name);
  }

  /** After a reconnect: definitions may have changed while notifications were lost. */
  async resync(): Promise<void> {
    await this.options.registry.reload();
    for (const { event } of [...this.live.values()]) {
      if (!this.options.registry.get(event.trigger_name)) this.cancel(event.id, 'triggerGone');
    }
    this.nudge();
  }

  eventState(eventId: string): 'delivering' | 'idle' | 'absent' {
    const live = this.live.get(eventId);
    if (!live) return 'absent';
    return live.actor.getSnapshot().matches('delivering') ? 'delivering' : 'idle';
  }

  /** redeliver_event reset the event to `generation` redeliveries: its actor starts over (if not already). */
  redeliver(eventId: string, generation: number): void {
    this.live.get(eventId)?.actor.send({ type: 'REDELIVER', generation });
  }

  stats(): EngineStats {
    return {
      live: this.live.size,
      queued: this.queue.size,
      delivering: this.delivering.size,
      waiting: this.waiting.size,
      claimed: this.fetcher.stats.claimed,
      fetches: this.fetcher.stats.fetches,
      recorderWrites: this.recorder.stats.writes,
      attemptsRecorded: this.recorder.stats.attempts,
      wakeLockReleased: this.fetcher.stats.wakeLockReleased,
    };
  }

  /**
   * Stops fetching, lets in-flight deliveries finish (up to timeoutMs), then lets go of every event this
   * instance still holds: queued and waiting ones keep their tries and next_retry_at for whoever is next.
   */
  async drain(timeoutMs: number): Promise<void> {
    if (this.state === 'draining' || this.state === 'stopped') return;
    this.state = 'draining';
    clearInterval(this.takeoverTimer);
    await this.fetcher.stop();
    // Let the wake lock go: a daemon waiting for it takes over the sleeping.
    await this.options.wakeLock.release();
    for (const id of [...this.queue, ...this.waiting]) this.cancel(id, 'drain');
    const deadline = Date.now() + timeoutMs;
    while (this.delivering.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    if (this.delivering.size > 0) {
      this.options.log.warn({ abandoned: this.delivering.size }, 'drain timeout: abandoning deliveries in flight');
    }
    for (const id of [...this.live.keys()]) this.cancel(id, 'drain');
    for (const id of [...this.live.keys()]) this.forget(id);
    await this.recorder.stop(Math.max(1000, deadline - Date.now()));
    // What is still to be handed back is handed back by the release of everything, just without the
    // delay: the next daemon finds out for itself.
    await this.releaser.stop(1000);
    await this.options.pool.query({ ...this.sql.releaseAll, values: [this.instanceId] });
    this.state = 'stopped';
  }

  // ---- actors -------------------------------------------------------------------------------------

  private provideMachine() {
    return eventMachine.provide({
      actions: {
        requestSlot: ({ context }) => {
          this.queue.add(context.eventId);
          this.schedulePump();
        },
        leaveQueue: ({ context }) => void this.queue.delete(context.eventId),
        releaseSlot: ({ context }) => {
          this.delivering.delete(context.eventId);
          this.schedulePump();
          this.fetcher.roomFreed();
        },
        callWebhook: ({ context, self }) => this.callWebhook(context, self),
        abortWebhook: ({ context }) => {
          const live = this.live.get(context.eventId);
          live?.call?.abort();
          if (live) live.call = undefined;
        },
        recordAttempt: ({ context, self }) => this.recordAttempt(context, self),
        beginWait: ({ context }) => void this.waiting.add(context.eventId),
        endWait: ({ context }) => void this.waiting.delete(context.eventId),
        // Settled actors are stopped and dropped: memory follows the work in hand, not the history.
        announceSettled: ({ context }) => queueMicrotask(() => this.forget(context.eventId)),
        releaseLock: ({ context }) => this.releaser.release(context.eventId),
      },
    });
  }

  /** Starts the POST; its outcome comes back to the actor as WEBHOOK_RESPONDED. */
  private callWebhook(context: EventContext, self: EventActor | { send(e: unknown): void }): void {
    const live = this.live.get(context.eventId);
    const trigger = this.options.registry.get(context.triggerName);
    if (!live) return;
    if (!trigger) {
      // Created a moment ago on another daemon, or deleted: look again before giving up on it.
      void this.options.registry.getFresh(context.triggerName).then(
        (fresh) => (fresh ? this.callWebhook(context, self) : self.send({ type: 'WEBHOOK_RESPONDED', report: TRIGGER_GONE })),
        () => self.send({ type: 'WEBHOOK_RESPONDED', report: TRIGGER_GONE }),
      );
      return;
    }
    const call = this.options.webhook.start(live.event, trigger, context.tries);
    live.call = call;
    void call.done.then((outcome) => {
      if (outcome === 'aborted' || live.call !== call) return;
      live.call = undefined;
      live.pendingLog = this.options.invocationLogs ? outcome.log : undefined;
      const report: AttemptReport = {
        ok: outcome.ok,
        status: outcome.status,
        retryAfterMs: outcome.retryAfterMs,
        numRetries: trigger.retry.num_retries,
        intervalMs: trigger.retry.interval_sec * 1000,
        summary: outcome.summary,
      };
      self.send({ type: 'WEBHOOK_RESPONDED', report });
    });
  }

  /** Writes the attempt (batched); the outcome comes back to the actor as RECORDED. */
  private recordAttempt(context: EventContext, self: { send(e: unknown): void }): void {
    const live = this.live.get(context.eventId);
    if (!live || context.verdict === null) return;
    // A retry is parked in the database rather than kept waiting in memory beyond maxWaitingEvents, or
    // when it is due too far ahead to hold it (and its lock) here.
    const park =
      context.verdict === 'retry' && (this.waiting.size >= this.options.maxWaitingEvents || context.retryDelayMs > MAX_IN_MEMORY_WAIT_MS);
    const log = live.pendingLog;
    live.pendingLog = undefined;
    this.recorder
      .record({
        eventId: context.eventId,
        triggerName: live.event.trigger_name,
        tries: context.tries,
        verdict: context.verdict,
        retryDelayMs: context.retryDelayMs,
        release: park,
        generation: context.generation,
        log,
      })
      .then(
        (result) => {
          const report: RecordReport = result.outcome === 'applied' ? { outcome: 'applied', parked: park } : result;
          self.send({ type: 'RECORDED', report });
        },
        () => undefined, // the recorder stopped (drain): the actor is being cancelled
      );
  }

  private async adopt(rows: ClaimedEvent[]): Promise<void> {
    const parked: string[] = [];
    for (const row of rows) {
      const waitsForRetry = Number(row.retry_in_ms) > 0;
      const tooFar = Number(row.retry_in_ms) > MAX_IN_MEMORY_WAIT_MS;
      if (waitsForRetry && (this.waiting.size >= this.options.maxWaitingEvents || tooFar)) parked.push(row.id);
      else this.spawn(row);
    }
    if (parked.length) await this.options.pool.query({ ...this.sql.release, values: [parked, this.instanceId] });
  }

  private spawn(row: ClaimedEvent): void {
    if (this.live.has(row.id)) return;
    const retryInMs = Number(row.retry_in_ms);
    const actor = createActor(this.machine, {
      id: `event:${row.id}`,
      input: { eventId: row.id, triggerName: row.trigger_name, tries: row.tries, generation: row.redeliveries, retryInMs },
      ...(this.options.inspect ? { inspect: this.options.inspect } : {}),
    });
    this.live.set(row.id, { actor, event: row, call: undefined, pendingLog: undefined });
    actor.start();
    if (retryInMs > 0) actor.send({ type: 'RESUME_WAIT' });
  }

  /**
   * The actor lets go of the event (CANCEL → released), visibly in the inspector, then is forgotten;
   * unless draining, it hands the event back in the database on the way (releaseLock).
   */
  private cancel(eventId: string, reason: CancelReason): void {
    this.live.get(eventId)?.actor.send({ type: 'CANCEL', reason });
  }

  private forget(eventId: string): void {
    const live = this.live.get(eventId);
    if (!live) return;
    this.live.delete(eventId);
    this.queue.delete(eventId);
    this.delivering.delete(eventId);
    this.waiting.delete(eventId);
    live.actor.stop();
  }

  private async onTriggerChanged(name: string): Promise<void> {
    try {
      await this.options.registry.reload();
    } catch (error) {
      this.options.log.warn({ err: error }, 'could not reload trigger definitions');
      return;
    }
    if (this.options.registry.get(name)) return;
    // Deleted: its events were archived in the same transaction; stop delivering them.
    for (const { event } of [...this.live.values()]) if (event.trigger_name === name) this.cancel(event.id, 'triggerGone');
  }

  // ---- slots ---------------------------------------------------------------------------------------

  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    queueMicrotask(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  /** Grants free slots of the HTTP pool to queued actors, oldest first. */
  private pump(): void {
    if (this.state !== 'running' && this.state !== 'draining') return;
    for (const id of this.queue) {
      if (this.delivering.size >= this.options.httpPoolSize || this.state !== 'running') break;
      this.queue.delete(id);
      const live = this.live.get(id);
      if (!live) continue;
      this.delivering.add(id);
      live.actor.send({ type: 'START' });
    }
  }
}

/**
 * A retry due further ahead than this is parked in the database (lock released, next_retry_at kept) and
 * fetched again when due, rather than waited for in memory: an hour-long wait gains nothing from being
 * held, and timers cannot wait past 2^31 - 1 ms (24.8 days; Node fires such a timer at once).
 */
export const MAX_IN_MEMORY_WAIT_MS = 60 * 60 * 1000;
