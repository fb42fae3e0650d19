/**
 * Waits for PostgreSQL at boot. A server that is down or starting is waited for, with a clear log line
 * and backoff (1 s doubling to 15 s); what waiting cannot fix (a wrong password, a missing database)
 * fails at once with one line.
 */
import type pg from 'pg';
import type { Logger } from 'pino';
import { backoffDelayMs, BOOT_WAIT } from '../lib/backoff.js';

/** SQLSTATEs that no amount of waiting fixes. */
const FATAL = new Map([
  ['28P01', 'authentication failed (wrong password?)'],
  ['28000', 'the server refused the connection (pg_hba.conf or role)'],
  ['3D000', 'the database does not exist'],
  ['42501', 'the role lacks a privilege the daemon needs'],
]);

/** Thrown when the signal ends the wait: the caller was asked to stop before the database answered. */
export class WaitAborted extends Error {
  override name = 'WaitAborted';
}

export async function waitForDatabase(pool: pg.Pool, log: Logger, signal?: AbortSignal): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    if (signal?.aborted) throw new WaitAborted('stopped while waiting for PostgreSQL');
    try {
      await pool.query('select 1');
      if (attempt > 1) log.info('PostgreSQL answers');
      return;
    } catch (error) {
      const e = error as { code?: string; message?: string };
      const fatal = e.code ? FATAL.get(e.code) : undefined;
      if (fatal) throw new Error(`cannot use DATABASE_URL: ${fatal}: ${e.message}`);
      if (signal?.aborted) throw new WaitAborted('stopped while waiting for PostgreSQL');
      const delay = backoffDelayMs(BOOT_WAIT, attempt);
      log.warn(`waiting for PostgreSQL (${e.code ?? ''}${e.code ? ': ' : ''}${e.message}); retrying in ${delay / 1000}s`);
      await sleep(delay, signal);
    }
  }
}

/** Resolves after ms, or as soon as the signal aborts. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
