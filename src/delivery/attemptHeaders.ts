/**
 * The headers of one attempt: the trigger's (merged once per trigger, requestHeaders.ts), plus what
 * belongs to this event and this attempt: the Standard Webhooks headers of a signed trigger and the
 * writer's W3C trace context. An attempt that adds nothing reuses the trigger's objects as they are.
 *
 * The invocation log lists what was sent: the added headers with their values (a signature proves
 * nothing without the body and the secret, which is never logged).
 */
import type { ResolvedTrigger } from '../catalog/triggerRegistry.js';
import { webhookSignature } from './signing.js';
import { traceHeaders } from './traceContext.js';

export interface AttemptHeaders {
  /** What is sent: lower-case names. */
  sent: Record<string, string>;
  /** The headers this attempt added to the trigger's (none for most triggers): see loggedHeadersJson. */
  added: Array<[string, string]>;
}

export interface AttemptInput {
  /** The event id: webhook-id, the same on every attempt and redelivery, for receivers to deduplicate. */
  id: string;
  /** The event's trace_context as JSON text (null or absent: none). */
  traceContext: string | null | undefined;
  /** The exact body sent: what webhook-signature signs. */
  body: string;
  /** Unix ms of the attempt (webhook-timestamp is its seconds). */
  now: number;
}

type HeaderTrigger = Pick<ResolvedTrigger, 'headers' | 'loggedHeadersJson' | 'signingKeys'>;

export function attemptHeaders(trigger: HeaderTrigger, attempt: AttemptInput): AttemptHeaders {
  const added = addedHeaders(trigger, attempt);
  if (added.length === 0) return { sent: trigger.headers, added };
  // These replace a trigger header of the same name: a signature must be the one that matches the body.
  const sent: Record<string, string> = { ...trigger.headers };
  for (const [name, value] of added) sent[name] = value;
  return { sent, added };
}

/** The invocation log's request.headers for an attempt, as JSON text: rendered only when logs are on. */
export function loggedHeadersJson(trigger: HeaderTrigger, added: Array<[string, string]>): string {
  return added.length === 0 ? trigger.loggedHeadersJson : loggedWith(trigger, added);
}

/** The headers this event and attempt add (signature, trace context); none for most triggers. */
export function addedHeaders(trigger: Pick<ResolvedTrigger, 'signingKeys'>, attempt: AttemptInput): Array<[string, string]> {
  const trace = traceHeaders(attempt.traceContext);
  const keys = trigger.signingKeys;
  const added: Array<[string, string]> = [];
  if (keys) {
    const timestamp = Math.floor(attempt.now / 1000);
    added.push(
      ['webhook-id', attempt.id],
      ['webhook-timestamp', String(timestamp)],
      ['webhook-signature', webhookSignature(keys, attempt.id, timestamp, attempt.body)],
    );
  }
  if (trace) {
    added.push(['traceparent', trace.traceparent]);
    if (trace.tracestate !== undefined) added.push(['tracestate', trace.tracestate]);
  }
  return added;
}

/** The trigger's logged headers with the added ones appended (replacing any of the same name). */
function loggedWith(trigger: HeaderTrigger, added: Array<[string, string]>): string {
  const extra = added.map(([name, value]) => JSON.stringify({ name, value })).join(',');
  const replaces = added.some(([name]) => name in trigger.headers);
  if (!replaces) return `${trigger.loggedHeadersJson.slice(0, -1)},${extra}]`;
  const names = new Set(added.map(([name]) => name));
  const kept = (JSON.parse(trigger.loggedHeadersJson) as Array<{ name: string }>).filter((h) => !names.has(h.name.toLowerCase()));
  return `${JSON.stringify(kept).slice(0, -1)}${kept.length ? ',' : ''}${extra}]`;
}
