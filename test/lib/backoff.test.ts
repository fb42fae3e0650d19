/** The one backoff policy, and what the webhook retries make of it (retryPolicy.ts): pure, no clock. */
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { backoffBoundMs, backoffDelayMs, DATABASE_RETRY } from '../../src/lib/backoff.js';
import { backoffMs, isEndpointFailure } from '../../src/delivery/retryPolicy.js';

describe('backoff', () => {
  test('the bound doubles from the base and stops at the cap, whatever the attempt', () => {
    const policy = { baseMs: 100, maxMs: 1000 };
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffBoundMs(policy, n))).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(backoffBoundMs(policy, 1e9)).toBe(1000);
    expect(backoffBoundMs(policy, 0)).toBe(100);
  });

  test('full jitter stays within [0, bound]; equal jitter within [bound / 2, bound]; none is the bound', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 200 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (attempt, r) => {
        const policy = { baseMs: 50, maxMs: 60_000 };
        const bound = backoffBoundMs(policy, attempt);
        const full = backoffDelayMs({ ...policy, jitter: 'full' }, attempt, () => r);
        const equal = backoffDelayMs({ ...policy, jitter: 'equal' }, attempt, () => r);
        expect(full).toBeGreaterThanOrEqual(0);
        expect(full).toBeLessThanOrEqual(bound);
        expect(equal).toBeGreaterThanOrEqual(bound / 2);
        expect(equal).toBeLessThanOrEqual(bound);
        expect(backoffDelayMs({ ...policy, jitter: 'none' }, attempt, () => r)).toBe(bound);
      }),
    );
  });

  test('reconnects and rewrites never spin and never wait more than 5 s', () => {
    for (let n = 1; n < 100; n++) {
      expect(backoffDelayMs(DATABASE_RETRY, n, () => 0)).toBeGreaterThanOrEqual(100);
      expect(backoffDelayMs(DATABASE_RETRY, n, () => 0.999)).toBeLessThanOrEqual(5000);
    }
  });
});

describe('webhook retries (retry_conf)', () => {
  const fixed = { num_retries: 5, interval_sec: 10, timeout_sec: 60 };

  test('fixed, the default, waits interval_sec after any failure, as Hasura does', () => {
    for (const status of [null, 400, 404, 500, 501]) {
      for (let retry = 1; retry < 6; retry++) expect(backoffMs(fixed, retry, status)).toBe(10_000);
    }
  });

  test('429, 502, 503 and 504 without Retry-After double the fixed wait each retry, up to max_interval_sec (an hour by default)', () => {
    for (const status of [429, 502, 503, 504]) {
      expect([1, 2, 3].map((retry) => backoffMs(fixed, retry, status))).toEqual([10_000, 20_000, 40_000]);
      expect(backoffMs(fixed, 30, status)).toBe(3_600_000);
      expect(backoffMs({ ...fixed, max_interval_sec: 25 }, 3, status)).toBe(25_000);
    }
  });

  test('exponential: full jitter under interval_sec × 2^(retry - 1), capped by max_interval_sec', () => {
    const exponential = { ...fixed, backoff: 'exponential' as const, max_interval_sec: 100 };
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 64 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (retry, r) => {
        const wait = backoffMs(exponential, retry, 500, () => r);
        expect(wait).toBeGreaterThanOrEqual(0);
        expect(wait).toBeLessThanOrEqual(Math.min(100_000, 10_000 * 2 ** (retry - 1)));
      }),
    );
    // The top of the range is reached: the jitter spans the whole bound.
    expect(backoffMs(exponential, 2, 500, () => 0.9999)).toBeGreaterThan(19_990);
    expect(backoffMs(exponential, 2, 500, () => 0)).toBe(0);
  });

  test('the endpoint failed when it gave no answer, 5xx or 429; any other answer means it is up', () => {
    expect([null, 429, 500, 502, 503, 504, 599].every(isEndpointFailure)).toBe(true);
    expect([200, 204, 301, 400, 401, 404, 410, 422].some(isEndpointFailure)).toBe(false);
  });
});
