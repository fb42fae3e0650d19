/**
 * Admin-secret check. The secret may come as X-Hasura-Admin-Secret or as Authorization: Bearer; it is
 * compared in constant time (both sides hashed to equal length first) and never logged. Also the role a
 * request claims, which the operations module authorises.
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
    const authorization = headers.authorization;
    const bearer = typeof authorization === 'string' && /^bearer /i.test(authorization) ? authorization.slice(7) : undefined;
    const given = typeof fromHeader === 'string' ? fromHeader : bearer;
    if (given === undefined) return 'missing';
    return timingSafeEqual(digest(given), expected) ? 'ok' : 'wrong';
  };
}
