/**
 * The delivery engine: wires the parts that deliver events and gives the operations their view of it.
 *
 * - fetcher.ts: the fetch loop (NOTIFY, polling, the wake lock), claiming each trigger's share.
 * - liveEvents.ts: one event actor (machines/event.machine.ts) per claimed event.
 * - scheduler.ts: the HTTP slots, shared fairly among triggers.
 * - circuits.ts: a circuit breaker per endpoint, shared with the other daemons through the database.
 * - attempts.ts: one attempt (webhookClient.ts: the call, retryPolicy.ts: what its answer means).
 * - recorder.ts, releaser.ts: outcomes written, events released, in batches.
 * - takeover.ts: the events of daemons that are gone.
 *
 * The database is the truth; actors are its live view. Every verdict is written before an actor moves
 * on, and every event an actor holds is locked by this instance in event_log.
 */
import type { InspectionEvent, Observer } from 'xstate';
import type pg from 'pg';
import type { Logger } from 'pino';
import { eventMachine, type CancelReason, type EventContext } from '../../machines/event.machine.js';
import type { LocalEngine } from '../api/operations/context.js';
import { notifyChannel, type ChannelCommand } from '../catalog/channel.js';
import type { ResolvedTrigger, TriggerRegistry } from '../catalog/triggerRegistry.js';
import { deliveryStatements } from '../sql/deliveryStatements.js';
import { Attempts } from './attempts.js';
import type { EngineLoad } from '../metrics/daemonGauges.js';
import type { DeliveryMetrics } from '../metrics/deliveryMetrics.js';
import { CircuitBreakers, type CircuitSettings, type CircuitView } from './circuits.js';
import { EventTimings } from './eventTimings.js';
import { Fetcher, type ClaimRow } from './fetcher.js';
import { LiveEvents, type LiveEvent } from './liveEvents.js';
import { Recorder } from './recorder.js';
import { Releaser } from './releaser.js';
import { Scheduler } from './scheduler.js';
import { Takeover } from './takeover.js';
import type { WakeLock } from './wakeLock.js';
import type { ClaimedEvent, WebhookClient } from './webhookClient.js';

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
  circuits: CircuitSettings;
  /** Hasura's event-trigger metrics, updated as events go (see eventTimings.ts). */
  metrics: DeliveryMetrics;
  inspect?: Observer<InspectionEvent> | undefined;
  log: Logger;
}

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
  private readonly live: LiveEvents;
  /** Actors waiting for a retry in memory, by trigger (a circuit that opens hands them back). */
  private readonly waiting = new Map<string, Set<string>>();
  private waitingCount = 0;
  private readonly sql;
  private readonly recorder: Recorder;
  private readonly releaser: Releaser;
  private readonly scheduler: Scheduler;
  private readonly circuits: CircuitBreakers;
  private readonly fetcher: Fetcher;
  private readonly takeover: Takeover;
  private readonly attempts: Attempts;
  private readonly timings: EventTimings;
  /** Events claimed and not yet out of the pending and delivering states: the fetcher's window. */
  private readonly window: number;
  private readonly minFetch: number;
  private state: 'idle' | 'running' | 'draining' | 'stopped' = 'idle';
  private circuitTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: EngineOptions) {
    this.instanceId = options.instanceId;
    this.sql = deliveryStatements(options.schema);
    const { pool, instanceId, log } = options;
    this.window = options.httpPoolSize + options.fetchBatchSize;
    this.minFetch = Math.max(1, Math.floor(options.fetchBatchSize / 2));
    this.recorder = new Recorder({ pool, sql: this.sql, instanceId, log });
    this.releaser = new Releaser({ pool, sql: this.sql, instanceId, log });
    this.scheduler = new Scheduler(options.httpPoolSize, {
      gate: (triggerName, eventId) => this.gate(triggerName, eventId),
      start: (eventId) => this.startAttempt(eventId),
      handBack: (eventId) => this.cancel(eventId, 'paused'),
    });
    this.circuits = new CircuitBreakers({
      ...options.circuits,
      pool,
      schema: options.schema,
      channel: notifyChannel(options.schema),
      instanceId,
      log,
      inspect: options.inspect,
      onPause: (endpoint) => this.pause(endpoint),
    });
    this.fetcher = new Fetcher(
      { ...options, sql: this.sql },
      {
        running: () => this.state === 'running',
        claimRooms: () => this.scheduler.claimRooms(this.window, options.fetchBatchSize, this.minFetch),
        flowControlled: () => options.registry.hasFlowLimits || this.circuits.anyNotClosed(),
        saturated: () => {
          const { rooms } = this.scheduler.claimRooms(this.window, options.fetchBatchSize, this.minFetch);
          return rooms.length > 0 && rooms.every((room) => room === 0);
        },
        adopt: (rows) => this.adoptClaimed(rows),
      },
    );
    this.takeover = new Takeover({
      pool,
      sql: this.sql,
      instanceId,
      heartbeatTimeoutMs: options.heartbeatTimeoutMs,
      intervalMs: options.takeoverIntervalMs,
      adopt: (rows) => this.adoptTakenOver(rows),
      log,
    });
    this.timings = new EventTimings(options.metrics);
    this.live = new LiveEvents(this.provideMachine(), options.inspect);
    this.attempts = new Attempts({
      live: this.live,
      registry: options.registry,
      webhook: options.webhook,
      circuits: this.circuits,
      recorder: this.recorder,
      timings: this.timings,
      parksRetry: (triggerName, delayMs) => this.parksRetry(triggerName, delayMs),
    });
  }

  /** Claims the events of instances that are gone (this daemon's previous life included). */
  async restore(): Promise<number> {
    await this.circuits.refresh();
    return this.takeover.check();
  }

  start(): void {
    if (this.state !== 'idle') return;
    this.state = 'running';
    // Events restored before start() waited for a slot; the scheduler grants from now on.
    this.scheduler.start();
    this.fetcher.start();
    this.takeover.start();
    // Circuits changed while a notification was lost are caught up with at the takeover's pace.
    this.circuitTimer = setInterval(() => {
      this.circuits.refresh().catch((error) => this.options.log.warn({ err: error }, 'could not read the circuit breakers'));
    }, this.options.takeoverIntervalMs);
    this.circuitTimer.unref();
  }

  /** A NOTIFY (or anything else) says events may be waiting: fetch now. */
  nudge(): void {
    this.fetcher.nudge();
  }

  handleCommand(command: ChannelCommand): void {
    if (command.kind === 'redeliver' && command.instanceId === this.instanceId) this.redeliver(command.eventId, command.generation);
    if (command.kind === 'triggers-changed') void this.onTriggerChanged(command.name);
    if (command.kind === 'circuit-changed') {
      this.circuits.refresh(command.endpoint).catch((error) => this.options.log.warn({ err: error }, 'could not read a circuit breaker'));
    }
  }

  /** After a reconnect: definitions and circuits may have changed while notifications were lost. */
  async resync(): Promise<void> {
    await this.options.registry.reload();
    for (const { event } of [...this.live.values()]) {
      if (!this.options.registry.get(event.trigger_name)) this.cancel(event.id, 'triggerGone');
    }
    await this.circuits.refresh();
    this.nudge();
  }

  eventState(eventId: string): 'delivering' | 'idle' | 'absent' {
    const live = this.live.get(eventId);
    if (!live) return 'absent';
    return live.actor.getSnapshot().matches('delivering') ? 'delivering' : 'idle';
  }

  /** redeliver_event reset the event to `generation` redeliveries: its actor starts over (if not already). */
  redeliver(eventId: string, generation: number): void {
    const live = this.live.get(eventId);
    if (live) this.live.send(eventId, live.actor, { type: 'REDELIVER', generation });
  }

  /** This daemon's view of the circuit breakers (closed ones only while they count failures). */
  circuitStates(): CircuitView[] {
    return this.circuits.list();
  }

  /** Requests under way and retries waited for in memory, per trigger (for the metrics' gauges). */
  load(): EngineLoad {
    const waiting = [...this.waiting].map(([triggerName, ids]): [string, number] => [triggerName, ids.size]);
    return { inFlight: this.scheduler.stats().inFlight, inFlightByTrigger: this.scheduler.inFlightByTrigger(), waitingByTrigger: waiting };
  }

  stats(): EngineStats {
    const scheduler = this.scheduler.stats();
    return {
      live: this.live.size,
      queued: scheduler.queued,
      delivering: scheduler.inFlight,
      waiting: this.waitingCount,
      claimed: this.fetcher.stats.claimed,
      fetches: this.fetcher.stats.fetches,
      recorderWrites: this.recorder.stats.writes,
      attemptsRecorded: this.recorder.stats.attempts,
      wakeLockReleased: this.fetcher.stats.wakeLockReleased,
    };
  }

  /**
   * Stops fetching, lets in-flight deliveries finish (up to timeoutMs), then releases every event this
   * instance still holds: queued and waiting ones keep their tries and next_retry_at for whoever is next.
   */
  async drain(timeoutMs: number): Promise<void> {
    if (this.state === 'draining' || this.state === 'stopped') return;
    this.state = 'draining';
    this.takeover.stop();
    clearInterval(this.circuitTimer);
    this.scheduler.stop();
    await this.fetcher.stop();
    // Let the wake lock go: a daemon waiting for it takes over the sleeping.
    await this.options.wakeLock.letGo();
    for (const live of [...this.live.values()]) {
      if (!live.actor.getSnapshot().matches('delivering')) this.cancel(live.event.id, 'drain');
    }
    const deadline = Date.now() + timeoutMs;
    while (this.scheduler.stats().inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    if (this.scheduler.stats().inFlight > 0) {
      this.options.log.warn({ abandoned: this.scheduler.stats().inFlight }, 'drain timeout: abandoning deliveries in flight');
    }
    for (const id of this.live.ids()) this.cancel(id, 'drain');
    for (const id of this.live.ids()) this.forget(id);
    this.circuits.stop();
    await this.recorder.stop(Math.max(1000, deadline - Date.now()));
    // What is still to be released is released by the release of everything, just without the delay
    // of letting go: the next daemon finds out for itself.
    await this.releaser.stop(1000);
    await this.options.pool.query({ ...this.sql.releaseAll, values: [this.instanceId] });
    this.state = 'stopped';
  }

  // ---- actors -------------------------------------------------------------------------------------

  private provideMachine() {
    return eventMachine.provide({
      actions: {
        requestSlot: ({ context }) => {
          const live = this.live.get(context.eventId);
          if (live) this.timings.queued(live);
          this.scheduler.enqueue(context.eventId, context.triggerName);
        },
        leaveQueue: ({ context }) => this.scheduler.dequeue(context.eventId),
        freeSlot: ({ context }) => {
          this.scheduler.finish(context.eventId);
          this.fetcher.roomFreed(context.triggerName, () => this.scheduler.hasRoom(context.triggerName, this.window, this.minFetch));
        },
        callWebhook: ({ context, self }) => this.attempts.call(context, self),
        abortWebhook: ({ context }) => {
          const live = this.live.get(context.eventId);
          live?.call?.abort();
          if (live) live.call = undefined;
        },
        recordAttempt: ({ context, self }) => this.attempts.record(context, self),
        beginWait: ({ context }) => this.beginWait(context),
        endWait: ({ context }) => this.endWait(context),
        // Settled actors are stopped and dropped: memory follows the work in hand, not the history.
        announceSettled: ({ context }) => queueMicrotask(() => this.forget(context.eventId)),
        letGo: ({ context }) => this.releaser.letGo(context.eventId),
        handBack: ({ context }) => this.releaser.handBack(context.eventId),
      },
    });
  }

  /** Whether a queued event may have its slot now: not while its endpoint's circuit is open. */
  private gate(triggerName: string, eventId: string): 'send' | 'handBack' {
    const endpoint = this.live.get(eventId)?.endpoint ?? this.options.registry.get(triggerName)?.endpoint;
    return endpoint === undefined ? 'send' : this.circuits.gate(endpoint, eventId);
  }

  private startAttempt(eventId: string): void {
    const live = this.live.get(eventId);
    // Forgotten between its grant and now (cancelled): its slot is free at once.
    if (live && this.live.send(eventId, live.actor, { type: 'START' })) this.timings.slotGranted(live, live.event.trigger_name);
    else this.scheduler.finish(eventId);
  }

  /**
   * A retry is parked in the database (released, next_retry_at kept) rather than waited for in memory:
   * beyond maxWaitingEvents; when it is due too far ahead to hold it (and its lock) here; and always for a
   * flow-limited trigger, whose every attempt must pass the claim's checks.
   */
  private parksRetry(triggerName: string, delayMs: number): boolean {
    return (
      this.waitingCount >= this.options.maxWaitingEvents ||
      delayMs > MAX_IN_MEMORY_WAIT_MS ||
      this.options.registry.get(triggerName)?.flowLimited === true
    );
  }

  private beginWait(context: EventContext): void {
    let ids = this.waiting.get(context.triggerName);
    if (!ids) this.waiting.set(context.triggerName, (ids = new Set()));
    if (!ids.has(context.eventId)) this.waitingCount += 1;
    ids.add(context.eventId);
  }

  private endWait(context: EventContext): void {
    const live = this.live.get(context.eventId);
    if (live) this.timings.retryWaitEnded(live);
    const ids = this.waiting.get(context.triggerName);
    if (!ids?.delete(context.eventId)) return;
    this.waitingCount -= 1;
    if (ids.size === 0) this.waiting.delete(context.triggerName);
  }

  /** Claimed by the fetch loop: probes are announced to their circuits before they queue for a slot. */
  private adoptClaimed(rows: ClaimRow[]): void {
    for (const row of rows) {
      const endpoint = this.options.registry.get(row.trigger_name)?.endpoint;
      if (endpoint !== undefined) {
        if (row.note === 'probe') this.circuits.probeClaimed(endpoint, row.id);
        else this.circuits.claimedOrdinary(endpoint);
      }
      this.spawn(row, row.note === 'probe');
    }
  }

  /** Taken over from a gone instance: events that wait for a retry are parked rather than held, if they must be. */
  private async adoptTakenOver(rows: ClaimedEvent[]): Promise<void> {
    const parked: string[] = [];
    for (const row of rows) {
      const retryInMs = Number(row.retry_in_ms);
      if (retryInMs > 0 && this.parksRetry(row.trigger_name, retryInMs)) parked.push(row.id);
      else this.spawn(row, false);
    }
    if (parked.length) await this.options.pool.query({ ...this.sql.release, values: [parked, this.instanceId, 0] });
  }

  private spawn(row: ClaimedEvent, probe: boolean): void {
    const endpoint = this.options.registry.get(row.trigger_name)?.endpoint;
    const live = this.live.spawn(row, { endpoint, probe });
    if (live && Number(row.retry_in_ms) > 0) live.actor.send({ type: 'RESUME_WAIT' });
  }

  /**
   * The actor lets go of the event (CANCEL → relinquished), visibly in the inspector, then is forgotten;
   * unless draining, it releases the event in the database on the way.
   */
  private cancel(eventId: string, reason: CancelReason): void {
    const live = this.live.get(eventId);
    if (live) this.live.send(eventId, live.actor, { type: 'CANCEL', reason });
  }

  private forget(eventId: string): void {
    const live: LiveEvent | undefined = this.live.forget(eventId);
    if (!live) return;
    this.scheduler.dequeue(eventId);
    this.scheduler.finish(eventId);
    this.endWait(live.actor.getSnapshot().context);
    // A probe that ends without an attempt leaves its circuit open (its lease lets another probe later).
    if (live.probe && live.endpoint !== undefined) this.circuits.reportAbandoned(live.endpoint, eventId);
  }

  /** A circuit opened: this daemon's queued and waiting events of its endpoint wait in the database instead. */
  private pause(endpoint: string): void {
    for (const trigger of this.triggersOf(endpoint)) {
      for (const id of this.scheduler.queuedOf(trigger.name)) this.cancel(id, 'paused');
      for (const id of [...(this.waiting.get(trigger.name) ?? [])]) this.cancel(id, 'paused');
    }
  }

  private triggersOf(endpoint: string): ResolvedTrigger[] {
    return this.options.registry.all().filter((t) => t.endpoint === endpoint);
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
}

/**
 * A retry due further ahead than this is parked in the database (lock released, next_retry_at kept) and
 * fetched again when due, rather than waited for in memory: an hour-long wait gains nothing from being
 * held, and timers cannot wait past 2^31 - 1 ms (24.8 days; Node fires such a timer at once).
 */
export const MAX_IN_MEMORY_WAIT_MS = 60 * 60 * 1000;
