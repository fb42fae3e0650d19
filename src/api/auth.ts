/**
 * Admin-secret check. The secret may come as X-Hasura-Admin-Secret or as Authorization: Bearer; it is
 * compared in constant time (both sides hashed to equal length first) and never logged.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

const digest = (s: string) => createHash('sha256').update(s).digest();

export type AuthOutcome = 'ok' | 'missing' | 'wrong';

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
