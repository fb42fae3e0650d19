/**
 * What a webhook's answer means for the event and for its endpoint, and how long to wait before the next
 * attempt. Pure: the engine feeds it each outcome, the event machine acts on the result.
 *
 * Status rules, as Standard Webhooks recommends:
 * - 2xx: delivered.
 * - 410 Gone: the receiver will never take the event: error at once, whatever num_retries says.
 * - 429, 502, 503 and 504: "slow down". A valid Retry-After is honoured (as Hasura does, even past
 *   num_retries); without one, the wait grows with each attempt even for a fixed-interval trigger.
 * - anything else, and no response at all: a failed attempt, retried per retry_conf.
 *
 * For the circuit breaker, the endpoint failed when it gave no response, timed out, or answered 5xx or
 * 429; any other answer (even a 4xx) means it is up and handling requests.
 */
import { DEFAULT_MAX_INTERVAL_SEC, type RetryConf } from '../catalog/definition.js';
import { backoffBoundMs, backoffDelayMs } from '../lib/backoff.js';

export const SLOW_DOWN_STATUSES: ReadonlySet<number> = new Set([429, 502, 503, 504]);
export const GONE_STATUS = 410;

/** Whether the answer (or its absence: null) counts against the endpoint's circuit. */
export function isEndpointFailure(status: number | null): boolean {
  return status === null || status === 429 || status >= 500;
}

/**
 * The wait before the next attempt, `retry` being the number of that attempt's retry (1 for the first
 * retry). "fixed" (Hasura's, the default) waits interval_sec; "exponential" waits a random time up to
 * interval_sec × 2^(retry - 1), capped by max_interval_sec (full jitter, so that events that failed
 * together do not come back together). A slow-down answer without Retry-After doubles the wait of a
 * fixed-interval trigger with each retry (interval_sec, then twice that, ..., up to the cap), so the
 * interval it asks for is never shortened.
 */
export function backoffMs(retry: RetryConf, nextRetry: number, status: number | null, random: () => number = Math.random): number {
  const baseMs = retry.interval_sec * 1000;
  const maxMs = Math.max(baseMs, (retry.max_interval_sec ?? DEFAULT_MAX_INTERVAL_SEC) * 1000);
  if (retry.backoff === 'exponential') return Math.round(backoffDelayMs({ baseMs, maxMs, jitter: 'full' }, nextRetry, random));
  if (status !== null && SLOW_DOWN_STATUSES.has(status)) return backoffBoundMs({ baseMs, maxMs }, nextRetry);
  return baseMs;
}
