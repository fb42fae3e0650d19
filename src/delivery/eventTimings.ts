/**
 * When an event fell due, queued for a slot and began its attempt, kept on its LiveEvent (three numbers
 * on an object made anyway), and what they come to in the delivery metrics (src/metrics/deliveryMetrics.ts):
 * Hasura's queue, webhook and processing times, its invocations and processed counts.
 */
import type { Verdict } from '../../machines/event.machine.js';
import type { DeliveryMetrics } from '../metrics/deliveryMetrics.js';
import type { ClaimedEvent, WebhookOutcome } from './webhookClient.js';

export interface EventTimes {
  /** Epoch ms the event fell due: its creation, or its retry time (processing time counts from it). */
  dueAt: number;
  /** performance.now() when it last joined its trigger's queue for a slot. */
  queuedAt: number;
  /** performance.now() when its attempt under way began. */
  attemptStartedAt: number;
}

/**
 * As Hasura: a first attempt is due at created_at, a retry at next_retry_at. A retry claimed from the
 * database is counted from its claim, which comes once it is due (the claim does not return
 * next_retry_at); one restored while it waits is due when its wait ends (retryWaitEnded).
 */
export function dueAtOf(event: ClaimedEvent): number {
  const retryInMs = Number(event.retry_in_ms);
  if (retryInMs > 0) return Date.now() + retryInMs;
  return event.tries === 0 ? Date.parse(event.created_at) : Date.now();
}

export class EventTimings {
  constructor(private readonly metrics: DeliveryMetrics) {}

  queued(times: EventTimes): void {
    times.queuedAt = performance.now();
  }

  /** The event has its slot: its wait for it is one queue time. */
  slotGranted(times: EventTimes, triggerName: string): void {
    times.attemptStartedAt = performance.now();
    this.metrics.slotGranted(triggerName, (times.attemptStartedAt - times.queuedAt) / 1000);
  }

  /** A retry's wait ended: it is due now. */
  retryWaitEnded(times: EventTimes): void {
    times.dueAt = Date.now();
  }

  attemptEnded(triggerName: string, outcome: WebhookOutcome): void {
    this.metrics.attempted(triggerName, outcome.ok, outcome.requestBytes, outcome.responseBytes);
  }

  /** The attempt's verdict is in the database. */
  recorded(times: EventTimes, triggerName: string, verdict: Verdict): void {
    if (verdict === 'delivered') {
      this.metrics.delivered(triggerName, (performance.now() - times.attemptStartedAt) / 1000, (Date.now() - times.dueAt) / 1000);
    } else if (verdict === 'error') {
      this.metrics.failed(triggerName);
    }
  }
}
