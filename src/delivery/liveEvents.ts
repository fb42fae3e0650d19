/**
 * The registry of live event actors: one per event this daemon holds, created when it is claimed and
 * stopped once it is settled or given up, so memory follows the work in hand, not the history.
 *
 * Results of I/O (a webhook's answer, a recorder's write) come back after an unknown time, by which the
 * actor may have been stopped (a delete, a drain): `send` delivers them only to the actor that asked, and
 * only while it runs, so nothing is sent to a stopped actor.
 */
import { createActor, type Actor, type AnyActorRef, type InspectionEvent, type Observer } from 'xstate';
import type { EventMachine, EventMachineEvent } from '../../machines/event.machine.js';
import { dueAtOf, type EventTimes } from './eventTimings.js';
import type { ClaimedEvent, InvocationLog, WebhookCall } from './webhookClient.js';

export type EventActor = Actor<EventMachine>;

export interface LiveEvent extends EventTimes {
  actor: EventActor;
  event: ClaimedEvent;
  /** The circuit breaker's key of the event's trigger, when it was claimed. */
  endpoint: string | undefined;
  /** Sent as its endpoint's probe (claim_due), and no attempt reported yet. */
  probe: boolean;
  /** The webhook call under way, if any. */
  call: WebhookCall | undefined;
  /** The invocation log of the attempt being recorded (kept out of the actor's context). */
  pendingLog: InvocationLog | undefined;
}

export class LiveEvents {
  private readonly live = new Map<string, LiveEvent>();

  constructor(
    private readonly machine: EventMachine,
    private readonly inspect: Observer<InspectionEvent> | undefined,
  ) {}

  get size(): number {
    return this.live.size;
  }

  get(eventId: string): LiveEvent | undefined {
    return this.live.get(eventId);
  }

  has(eventId: string): boolean {
    return this.live.has(eventId);
  }

  values(): IterableIterator<LiveEvent> {
    return this.live.values();
  }

  ids(): string[] {
    return [...this.live.keys()];
  }

  /** Creates and starts the event's actor; undefined if the event already has one. */
  spawn(event: ClaimedEvent, options: { endpoint: string | undefined; probe: boolean }): LiveEvent | undefined {
    if (this.live.has(event.id)) return undefined;
    const retryInMs = Number(event.retry_in_ms);
    const actor = createActor(this.machine, {
      id: `event:${event.id}`,
      input: { eventId: event.id, triggerName: event.trigger_name, tries: event.tries, generation: event.redeliveries, retryInMs },
      ...(this.inspect ? { inspect: this.inspect } : {}),
    });
    const entry: LiveEvent = {
      actor,
      event,
      ...options,
      call: undefined,
      pendingLog: undefined,
      dueAt: dueAtOf(event),
      queuedAt: performance.now(),
      attemptStartedAt: 0,
    };
    this.live.set(event.id, entry);
    actor.start();
    return entry;
  }

  /** Sends the event to the actor, if it is still the event's actor and still running. */
  send(eventId: string, actor: AnyActorRef, event: EventMachineEvent): boolean {
    const entry = this.live.get(eventId);
    if (entry?.actor !== actor || entry.actor.getSnapshot().status !== 'active') return false;
    entry.actor.send(event);
    return true;
  }

  /** Stops the actor and forgets it; the entry, for what the caller still has to settle. */
  forget(eventId: string): LiveEvent | undefined {
    const entry = this.live.get(eventId);
    if (!entry) return undefined;
    this.live.delete(eventId);
    entry.actor.stop();
    return entry;
  }
}
