/**
 * The console's only way to the daemon: POST /v1/query, as any client calls it. The admin secret the
 * user typed is kept in this tab's session storage (gone when the tab closes) and sent as
 * X-Hasura-Admin-Secret. Answers are parsed without losing digits.
 */
import { parseExact } from './json.js';

const SECRET_KEY = 'pg-event-triggers:admin-secret';

/** An error answer of the API, in Hasura's shape, with its HTTP status. */
export class ApiFailure extends Error {
  override name = 'ApiFailure';
  constructor(
    readonly status: number,
    readonly code: string,
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}

/** The daemon could not be reached, or did not answer with JSON. */
export class Unreachable extends Error {
  override name = 'Unreachable';
}

export type Connection = 'ok' | 'unreachable' | 'signed-out';
const listeners = new Set<(state: Connection) => void>();
let current: Connection = 'ok';

/** Calls `listener` whenever the state of the connection changes. */
export function onConnection(listener: (state: Connection) => void): void {
  listeners.add(listener);
}

function setConnection(state: Connection): void {
  if (state === current) return;
  current = state;
  for (const listener of listeners) listener(state);
}

export const storedSecret = (): string | null => sessionStorage.getItem(SECRET_KEY);
export const storeSecret = (secret: string) => sessionStorage.setItem(SECRET_KEY, secret);
export const forgetSecret = () => sessionStorage.removeItem(SECRET_KEY);

/** Runs an operation with args given as a value. */
export function query<T>(type: string, args: unknown = {}): Promise<T> {
  return queryText<T>(type, JSON.stringify(args));
}

/**
 * Runs an operation with args given as JSON text, sent as written: a payload typed by the user keeps
 * its digits.
 */
export async function queryText<T>(type: string, argsText: string): Promise<T> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  const secret = storedSecret();
  if (secret !== null) headers['x-hasura-admin-secret'] = secret;
  let response: Response;
  let text: string;
  try {
    response = await fetch('/v1/query', {
      method: 'POST',
      headers,
      body: `{"type":${JSON.stringify(type)},"args":${argsText}}`,
      credentials: 'omit',
      cache: 'no-store',
    });
    text = await response.text();
  } catch (error) {
    setConnection('unreachable');
    throw new Unreachable(`the daemon does not answer: ${(error as Error).message}`);
  }
  let body: unknown;
  try {
    body = parseExact(text);
  } catch {
    setConnection('unreachable');
    throw new Unreachable(`the daemon answered ${response.status} without JSON`);
  }
  if (response.status === 401) {
    setConnection('signed-out');
  } else {
    setConnection('ok');
  }
  if (!response.ok) {
    const e = (body ?? {}) as { code?: string; path?: string; error?: string };
    throw new ApiFailure(response.status, e.code ?? 'unexpected', e.path ?? '$', e.error ?? `HTTP ${response.status}`);
  }
  return body as T;
}

/** Whether an error says the operation does not exist on this daemon (an older or newer version). */
export const isUnknownOperation = (error: unknown) =>
  error instanceof ApiFailure && error.code === 'parse-failed' && error.message.startsWith('unknown operation type');
