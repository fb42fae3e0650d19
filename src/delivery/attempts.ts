/**
 * One attempt of an event, between its actor and the world: the webhook call (webhookClient.ts), what its
 * answer means (retryPolicy.ts) and for the endpoint's circuit (circuits.ts), and the write of its
 * verdict and invocation log (recorder.ts). Results go back to the actor as WEBHOOK_RESPONDED and
 * RECORDED, and only while it still runs (liveEvents.ts).
 */
import type { AnyActorRef } from 'xstate';
import type { AttemptReport, EventContext, RecordReport } from '../../machines/event.machine.js';
import type { TriggerRegistry } from '../catalog/triggerRegistry.js';
import type { CircuitBreakers } from './circuits.js';
import type { EventTimings } from './eventTimings.js';
import type { LiveEvents } from './liveEvents.js';
import type { Recorder } from './recorder.js';
import { backoffMs, GONE_STATUS } from './retryPolicy.js';
import type { WebhookClient } from './webhookClient.js';

const TRIGGER_GONE: AttemptReport = {
  ok: false,
  status: null,
  retryAfterMs: null,
  numRetries: 0,
  backoffMs: 0,
  triggerGone: true,
  summary: 'the trigger was deleted',
};

export interface AttemptsOptions {
  live: LiveEvents;
  registry: TriggerRegistry;
  webhook: WebhookClient;
  circuits: CircuitBreakers;
  recorder: Recorder;
  /** The delivery metrics' clock (eventTimings.ts). */
  timings: EventTimings;
  /** Whether a retry after this delay is parked in the database rather than waited for here. */
  parksRetry(triggerName: string, delayMs: number): boolean;
}

export class Attempts {
  constructor(private readonly options: AttemptsOptions) {}

  /** Starts the POST; its outcome comes back to the actor as WEBHOOK_RESPONDED. */
  call(context: EventContext, self: AnyActorRef): void {
    const { live: liveEvents, registry } = this.options;
    const live = liveEvents.get(context.eventId);
    const trigger = registry.get(context.triggerName);
    if (!live) return;
    if (!trigger) {
      // Created a moment ago on another daemon, or deleted: look again before giving up on it.
      const gone = () => liveEvents.send(context.eventId, self, { type: 'WEBHOOK_RESPONDED', report: TRIGGER_GONE });
      void registry.getFresh(context.triggerName).then((fresh) => (fresh ? this.call(context, self) : gone()), gone);
      return;
    }
    const call = this.options.webhook.start(live.event, trigger, context.tries);
    live.call = call;
    void call.done.then((outcome) => {
      if (outcome === 'aborted' || live.call !== call) return;
      live.call = undefined;
      // Undefined when invocation logs are off: the webhook client builds none then.
      live.pendingLog = outcome.log;
      this.options.timings.attemptEnded(context.triggerName, outcome);
      // Only a request that was sent says something of the endpoint.
      if (outcome.sent && live.endpoint !== undefined) {
        live.probe = false;
        this.options.circuits.reportAttempt(live.endpoint, context.eventId, outcome.status, outcome.summary);
      }
      const report: AttemptReport = {
        ok: outcome.ok,
        status: outcome.status,
        retryAfterMs: outcome.retryAfterMs,
        numRetries: trigger.retry.num_retries,
        backoffMs: backoffMs(trigger.retry, context.tries + 1, outcome.status),
        stopRetrying: outcome.status === GONE_STATUS,
        summary: outcome.summary,
      };
      liveEvents.send(context.eventId, self, { type: 'WEBHOOK_RESPONDED', report });
    });
  }

  /** Writes the attempt (batched); the outcome comes back to the actor as RECORDED. */
  record(context: EventContext, self: AnyActorRef): void {
    const live = this.options.live.get(context.eventId);
    if (!live || context.verdict === null) return;
    const park = context.verdict === 'retry' && this.options.parksRetry(context.triggerName, context.retryDelayMs);
    const log = live.pendingLog;
    live.pendingLog = undefined;
    this.options.recorder
      .record({
        eventId: context.eventId,
        triggerName: live.event.trigger_name,
        tries: context.tries,
        verdict: context.verdict,
        retryDelayMs: context.retryDelayMs,
        park,
        generation: context.generation,
        log,
      })
      .then(
        (result) => {
          if (result.outcome === 'applied' && context.verdict !== null)
            this.options.timings.recorded(live, context.triggerName, context.verdict);
          const report: RecordReport = result.outcome === 'applied' ? { outcome: 'applied', parked: park } : result;
          this.options.live.send(context.eventId, self, { type: 'RECORDED', report });
        },
        () => undefined, // the recorder stopped (drain): the actor is being cancelled
      );
  }
}
