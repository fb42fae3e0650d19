/**
 * Admin-secret and metrics-secret checks. The admin secret may come as X-Hasura-Admin-Secret or as
 * Authorization: Bearer, the metrics secret as Bearer only; both are compared in constant time (both
 * sides hashed to equal length first) and never logged. Also the role a request claims, which the
 * operations module authorises.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

const digest = (s: string) => createHash('sha256').update(s).digest();

export type AuthOutcome = 'ok' | 'missing' | 'wrong';

/**
 * The role of an authenticated request: X-Hasura-Role, or undefined when absent (Hasura then falls back to
 * admin: URBFromSessionVariablesFallback adminRoleName in getUserInfoWithExpTime).
 */
export function roleOf(headers: IncomingHttpHeaders): string | undefined {
  const role = headers['x-hasura-role'];
  return Array.isArray(role) ? role.join(', ') : role;
}

export function createSecretCheck(secret: string | undefined): (headers: IncomingHttpHeaders) => AuthOutcome {
  if (!secret) return () => 'ok';
  const expected = digest(secret);
  return (headers) => {
    const fromHeader = headers['x-hasura-admin-secret'];
    return compare(typeof fromHeader === 'string' ? fromHeader : bearerOf(headers), expected);
  };
}

/**
 * Who may read /v1/metrics, as in Hasura: with a metrics secret, whoever sends it as Authorization:
 * Bearer (and no one else, the admin included: a scraper's token reads the metrics and nothing more);
 * without one, whoever the API admits.
 */
export function createMetricsCheck(
  metricsSecret: string | undefined,
  adminSecret: string | undefined,
): (headers: IncomingHttpHeaders) => AuthOutcome {
  if (!metricsSecret) return createSecretCheck(adminSecret);
  const expected = digest(metricsSecret);
  return (headers) => compare(bearerOf(headers), expected);
}

function bearerOf(headers: IncomingHttpHeaders): string | undefined {
  const authorization = headers.authorization;
  return typeof authorization === 'string' && /^bearer /i.test(authorization) ? authorization.slice(7) : undefined;
}

function compare(given: string | undefined, expected: Buffer): AuthOutcome {
  if (given === undefined) return 'missing';
  return timingSafeEqual(digest(given), expected) ? 'ok' : 'wrong';
}
