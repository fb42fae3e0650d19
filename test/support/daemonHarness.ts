/**
 * A whole daemon (supervisor, engine, LISTEN, presence, HTTP API) started in this process on a test
 * database, configured as a user would, with test-friendly timings.
 */
import pg from 'pg';
import { pino } from 'pino';
import { request } from 'undici';
import { parseJson } from '../../src/api/json.js';
import { resolveConfig, type Config } from '../../src/config.js';
import { startDaemon, type DaemonHandle } from '../../src/daemon.js';
import { createTestDatabase, type TestDatabase } from './testDatabase.js';

export interface DaemonHarness {
  daemon: DaemonHandle;
  config: Config;
  /** POST /v1/query {"type", "args"}: the parsed answer (throws on a non-2xx answer). */
  query(type: string, args: unknown): Promise<any>;
  /** POST /v1/query: status and parsed body, whatever the status. */
  tryQuery(type: string, args: unknown): Promise<{ status: number; json: any }>;
  stop(): Promise<void>;
}

/** Settings as environment variables, as a user would give them. */
export function configFor(databaseUrl: string, env: Record<string, string> = {}): Config {
  return resolveConfig(() => undefined, {
    DATABASE_URL: databaseUrl,
    PORT: '0',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    EVENTS_FETCH_INTERVAL: '1000',
    HEARTBEAT_TIMEOUT_MS: '3000',
    DRAIN_TIMEOUT_MS: '2000',
    ...env,
  });
}

export async function startTestDaemon(
  databaseUrl: string,
  options: { env?: Record<string, string>; processEnv?: NodeJS.ProcessEnv } = {},
): Promise<DaemonHarness> {
  const config = configFor(databaseUrl, options.env);
  const log = pino({ level: config.logLevel });
  const daemon = await startDaemon(config, { env: options.processEnv ?? {}, log, version: 'test' });
  const tryQuery = async (type: string, args: unknown) => {
    const res = await request(`${daemon.url}/v1/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type, args }),
    });
    const text = await res.body.text();
    return { status: res.statusCode, json: text ? parseJson(text) : undefined };
  };
  return {
    daemon,
    config,
    tryQuery,
    async query(type, args) {
      const res = await tryQuery(type, args);
      if (res.status !== 200) throw new Error(`${type} answered ${res.status}: ${JSON.stringify(res.json)}`);
      return res.json;
    },
    stop: () => daemon.stop(),
  };
}

/** A test database with a pool on it, for files that run daemons. */
export async function openTestDatabase(): Promise<{ db: TestDatabase; pool: pg.Pool; close(): Promise<void> }> {
  const db = await createTestDatabase();
  const pool = new pg.Pool({ connectionString: db.url, max: 8, options: '-c TimeZone=UTC' });
  return {
    db,
    pool,
    async close() {
      await pool.end();
      await db.drop();
    },
  };
}

/** Polls until check() returns a truthy value, or fails after timeoutMs with the last value seen. */
export async function eventually<T>(check: () => Promise<T> | T, timeoutMs = 15_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    last = await check();
    if (last) return last;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(last)})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
