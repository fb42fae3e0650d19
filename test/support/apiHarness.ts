/**
 * The HTTP API on a real port over a fresh test database, with no delivery engine: for tests of the
 * operations and of capture. Requests go over real HTTP.
 */
import pg from 'pg';
import { pino } from 'pino';
import { request } from 'undici';
import { buildApp } from '../../src/api/app.js';
import { parseJson } from '../../src/api/json.js';
import { createOperationContext, type LocalEngine } from '../../src/api/operations/context.js';
import { migrate } from '../../src/db/migrate.js';
import { createPool } from '../../src/db/pool.js';
import { MetricsRegistry } from '../../src/metrics/metricsRegistry.js';
import { createTestDatabase, type TestDatabase } from './testDatabase.js';

export interface ApiHarness {
  url: string;
  db: TestDatabase;
  /** A pool on the test database, for setting up tables and checking what changed. */
  pool: pg.Pool;
  schema: string;
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<ApiResponse>;
  /** POST /v1/query with {"type", "args"}. */
  query(type: string, args: unknown): Promise<ApiResponse>;
  close(): Promise<void>;
}

export interface ApiResponse {
  status: number;
  text: string;
  /** The body parsed without losing digits (bigints come back as LosslessNumber). */
  json: any;
}

export interface ApiHarnessOptions {
  adminSecret?: string;
  env?: NodeJS.ProcessEnv;
  schema?: string;
  engine?: LocalEngine;
  bodyLimit?: number;
  /** STRINGIFY_NUMERIC_TYPES of the daemon under test. */
  stringifyNumericTypes?: boolean;
  /** Serve /v1/metrics (its database gauges read the harness's catalog). */
  metrics?: boolean;
}

export async function startApi(options: ApiHarnessOptions = {}): Promise<ApiHarness> {
  const db = await createTestDatabase();
  const schema = options.schema ?? 'event_triggers';
  const log = pino({ level: 'silent' });
  const pool = createPool({ connectionString: db.url, max: 5, applicationName: 'pget-test', log });
  await migrate(pool, schema);
  const ctx = createOperationContext({
    pool,
    schema,
    sourceName: 'default',
    heartbeatTimeoutMs: 30_000,
    env: options.env ?? {},
    stringifyNumericTypes: options.stringifyNumericTypes ?? false,
    ...(options.engine ? { engine: options.engine } : {}),
    log,
  });
  const metrics = options.metrics
    ? new MetricsRegistry({ pool, poolSize: 5, schema, sourceName: 'default', heartbeatTimeoutMs: 30_000, log })
    : undefined;
  const app = await buildApp({
    ctx,
    adminSecret: options.adminSecret,
    ...(metrics ? { metrics } : {}),
    bodyLimit: options.bodyLimit ?? 1_048_576,
    version: 'test',
    health: () => Promise.resolve({ ok: true }),
    log,
  });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  const post = async (path: string, body: unknown, headers: Record<string, string> = {}): Promise<ApiResponse> => {
    const res = await request(`${url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.body.text();
    let json: unknown;
    try {
      json = text ? parseJson(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: res.statusCode, text, json };
  };
  return {
    url,
    db,
    pool,
    schema,
    post,
    query: (type, args) => post('/v1/query', { type, args }),
    async close() {
      await app.close();
      await pool.end();
      await db.drop();
    },
  };
}
