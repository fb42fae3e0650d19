/**
 * The one backoff policy: exponential growth from a base, capped, with jitter. Used wherever something is
 * tried again after a failure: webhook retries (retry_conf with backoff "exponential"), reconnecting the
 * daemon's connections, and the recorder's and the releaser's writes while the database is down.
 *
 * Full jitter (a uniform delay between 0 and the exponential bound, as the AWS architecture blog's
 * "Exponential Backoff And Jitter" recommends) spreads many clients that failed together; `equal` jitter
 * (between half the bound and the bound) keeps a floor, for loops that must not spin.
 */

export interface BackoffPolicy {
  /** The bound of the first retry (attempt 1). */
  baseMs: number;
  /** The bound never grows past this. */
  maxMs: number;
  /** 'full': uniform in [0, bound]; 'equal': uniform in [bound / 2, bound]; 'none': the bound itself. */
  jitter: 'full' | 'equal' | 'none';
}

/**
 * The bound for the nth retry (n ≥ 1): base × 2^(n-1), capped at maxMs. The exponent is clamped so that
 * huge attempt counts cannot overflow to Infinity.
 */
export function backoffBoundMs(policy: Pick<BackoffPolicy, 'baseMs' | 'maxMs'>, attempt: number): number {
  const exponent = Math.min(Math.max(attempt - 1, 0), 52);
  return Math.min(policy.maxMs, policy.baseMs * 2 ** exponent);
}

/** The delay before the nth retry (n ≥ 1). `random` is injectable so tests can pin the jitter. */
export function backoffDelayMs(policy: BackoffPolicy, attempt: number, random: () => number = Math.random): number {
  const bound = backoffBoundMs(policy, attempt);
  if (policy.jitter === 'none') return bound;
  if (policy.jitter === 'equal') return bound / 2 + random() * (bound / 2);
  return random() * bound;
}

/**
 * Reconnecting a connection or retrying a write while the database is down: 0.2 s doubling to 5 s, with a
 * floor of half the bound so that a loop of failures never spins, and jitter so that many daemons that
 * lost the same server do not come back in step.
 */
export const DATABASE_RETRY: BackoffPolicy = { baseMs: 200, maxMs: 5000, jitter: 'equal' };

/** Waiting for PostgreSQL at boot: 1 s doubling to 15 s, exact, so each log line can say when it tries again. */
export const BOOT_WAIT: BackoffPolicy = { baseMs: 1000, maxMs: 15_000, jitter: 'none' };
