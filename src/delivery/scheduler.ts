/**
 * The HTTP slots and their fair share among triggers.
 *
 * Each trigger has its own queue of events waiting for a slot; queues are served round robin, one event
 * at a time. While the pool has free slots, any trigger may take one (a trigger alone uses the whole
 * pool). Once it is full, a trigger may still start a request as long as it has fewer in flight than its
 * fair share (the pool divided among the triggers that have events queued or in flight): so when a hung
 * endpoint holds every slot, an event of another trigger still goes out at once, and the hung trigger
 * gets no new slot until it is back under its share. Requests in flight are at most twice the pool, and
 * beyond the pool only while some trigger holds more than its share from before the others came.
 *
 * The same accounting sizes the claims (claimRooms): a trigger holds at most its share of the claim
 * window (events queued or in flight), so a trigger whose events cannot be delivered cannot fill the
 * daemon, and the window of the others stays open.
 *
 * Pure bookkeeping, no I/O: the engine supplies what a grant does (`start`) and whether an event may go
 * out now (`gate`: its endpoint's circuit may be open).
 */

export interface SchedulerHost {
  /** Whether the event may be sent now, or must be handed back (its endpoint's circuit is open). */
  gate(triggerName: string, eventId: string): 'send' | 'handBack';
  /** The event has a slot: start its attempt. */
  start(eventId: string): void;
  /** The event may not go out: let it go (it waits in the database). */
  handBack(eventId: string): void;
}

/** A trigger's events here: waiting for a slot (in arrival order) and holding one. */
interface TriggerLoad {
  queued: Set<string>;
  inFlight: number;
}

/** What a claim may take, trigger by trigger (see claim_due in migration 7). */
export interface ClaimRooms {
  /** Triggers this daemon holds events of, and how many more of each it takes (0: none). */
  names: string[];
  rooms: number[];
  /** How many of any other trigger. */
  defaultRoom: number;
}

export interface SchedulerStats {
  queued: number;
  inFlight: number;
  /** Triggers with events queued or in flight. */
  triggers: number;
}

export class Scheduler {
  private readonly loads = new Map<string, TriggerLoad>();
  /** The trigger of every event queued or in flight. */
  private readonly triggerOf = new Map<string, string>();
  private inFlightTotal = 0;
  private queuedTotal = 0;
  private running = false;
  private pumpScheduled = false;

  constructor(
    private readonly poolSize: number,
    private readonly host: SchedulerHost,
  ) {}

  /** Grants slots from now on (events may queue before). */
  start(): void {
    this.running = true;
    this.schedulePump();
  }

  /** No slot is granted any more (drain). */
  stop(): void {
    this.running = false;
  }

  /** The event waits for a slot. */
  enqueue(eventId: string, triggerName: string): void {
    if (this.triggerOf.has(eventId)) return;
    this.triggerOf.set(eventId, triggerName);
    this.load(triggerName).queued.add(eventId);
    this.queuedTotal += 1;
    this.schedulePump();
  }

  /** The event no longer waits (it went to wait for a retry, or was cancelled). */
  dequeue(eventId: string): void {
    const triggerName = this.triggerOf.get(eventId);
    if (triggerName === undefined) return;
    const load = this.loads.get(triggerName);
    if (!load?.queued.delete(eventId)) return;
    this.triggerOf.delete(eventId);
    this.queuedTotal -= 1;
    this.forgetIfIdle(triggerName, load);
  }

  /** The event's attempt is over: its slot is free. */
  finish(eventId: string): void {
    const triggerName = this.triggerOf.get(eventId);
    if (triggerName === undefined) return;
    const load = this.loads.get(triggerName);
    if (!load || load.queued.has(eventId)) return;
    this.triggerOf.delete(eventId);
    load.inFlight -= 1;
    this.inFlightTotal -= 1;
    this.forgetIfIdle(triggerName, load);
    this.schedulePump();
  }

  /** Events of the trigger queued or in flight here. */
  held(triggerName: string): number {
    const load = this.loads.get(triggerName);
    return load ? load.queued.size + load.inFlight : 0;
  }

  /** Events of every trigger queued here, in no particular order. */
  queuedOf(triggerName: string): string[] {
    return [...(this.loads.get(triggerName)?.queued ?? [])];
  }

  /** Requests in flight per trigger that has any queued or in flight. */
  inFlightByTrigger(): Array<[triggerName: string, inFlight: number]> {
    return [...this.loads].map(([triggerName, load]) => [triggerName, load.inFlight]);
  }

  stats(): SchedulerStats {
    return { queued: this.queuedTotal, inFlight: this.inFlightTotal, triggers: this.loads.size };
  }

  /**
   * How much the next claim may take. A trigger holding events may hold up to its share of the window
   * (window / triggers holding events), and takes at most `batch` at a time; a trigger not held here yet
   * gets the share it would have once it is (window / (triggers + 1)). A room smaller than `minFetch` (or
   * than half the share, when that is smaller) is offered as 0, so a trigger claims in batches rather
   * than one event per round trip.
   */
  claimRooms(window: number, batch: number, minFetch: number): ClaimRooms {
    const names: string[] = [];
    const rooms: number[] = [];
    const share = Math.ceil(window / Math.max(1, this.loads.size));
    const worthFetching = Math.max(1, Math.min(minFetch, Math.ceil(share / 2)));
    for (const [triggerName, load] of this.loads) {
      const room = Math.min(batch, share - load.queued.size - load.inFlight);
      names.push(triggerName);
      rooms.push(room >= worthFetching ? room : 0);
    }
    const defaultRoom = Math.max(1, Math.min(batch, Math.ceil(window / (this.loads.size + 1))));
    return { names, rooms, defaultRoom };
  }

  /** Whether the trigger has room worth a claim again (see claimRooms). */
  hasRoom(triggerName: string, window: number, minFetch: number): boolean {
    const share = Math.ceil(window / Math.max(1, this.loads.size));
    return share - this.held(triggerName) >= Math.max(1, Math.min(minFetch, Math.ceil(share / 2)));
  }

  private load(triggerName: string): TriggerLoad {
    let load = this.loads.get(triggerName);
    if (!load) {
      load = { queued: new Set(), inFlight: 0 };
      this.loads.set(triggerName, load);
    }
    return load;
  }

  private forgetIfIdle(triggerName: string, load: TriggerLoad): void {
    if (load.queued.size === 0 && load.inFlight === 0) this.loads.delete(triggerName);
  }

  private schedulePump(): void {
    if (this.pumpScheduled || !this.running) return;
    this.pumpScheduled = true;
    queueMicrotask(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  /** Grants slots round robin, one event per trigger per round, until no trigger may take one. */
  private pump(): void {
    let granted = true;
    while (granted && this.running && this.queuedTotal > 0) {
      granted = false;
      const fairShare = Math.max(1, Math.floor(this.poolSize / this.loads.size));
      for (const triggerName of [...this.loads.keys()]) {
        const load = this.loads.get(triggerName);
        const eventId = load?.queued.values().next().value;
        if (!load || eventId === undefined) continue;
        if (this.host.gate(triggerName, eventId) === 'handBack') {
          this.dequeue(eventId);
          this.host.handBack(eventId);
          granted = true;
          continue;
        }
        if (this.inFlightTotal >= this.poolSize && (load.inFlight >= fairShare || this.inFlightTotal >= 2 * this.poolSize)) continue;
        load.queued.delete(eventId);
        this.queuedTotal -= 1;
        load.inFlight += 1;
        this.inFlightTotal += 1;
        granted = true;
        this.host.start(eventId);
      }
    }
  }
}
