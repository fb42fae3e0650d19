/**
 * What PostgreSQL refuses the daemon's own role, over real HTTP with the daemon connected as a role that
 * is not a superuser (as in production): a table locked by a long transaction is busy after
 * LOCK_TIMEOUT_MS. It answers 400 in Hasura's shape and changes nothing.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { pino } from 'pino';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { buildApp } from '../../src/api/app.js';
import { parseJson } from '../../src/api/json.js';
import { createOperationContext } from '../../src/api/operations/context.js';
import { migrate } from '../../src/db/migrate.js';
import { createPool } from '../../src/db/pool.js';
import { catalogSnapshot } from '../support/catalogSnapshot.js';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase.js';

const suffix = randomBytes(4).toString('hex');
/** Roles belong to the cluster, which other test files share: unique names, dropped at the end. */
const ROLE = `pget_daemon_${suffix}`;
const OWNER = `pget_app_${suffix}`;
const PASSWORD = randomBytes(12).toString('hex');
const WEBHOOK = 'http://127.0.0.1:9/hook';

let db: TestDatabase;
/** Superuser: sets up tables and grants, and plays the application's long transactions. */
let admin: pg.Pool;
/** The daemon's role. */
let pool: pg.Pool;
const apps: FastifyInstance[] = [];

interface Answer {
  status: number;
  json: any;
}

async function startApp(lockTimeoutMs?: number): Promise<(path: string, body: unknown) => Promise<Answer>> {
  const log = pino({ level: 'silent' });
  const ctx = createOperationContext({
    pool,
    schema: 'event_triggers',
    sourceName: 'default',
    heartbeatTimeoutMs: 30_000,
    ...(lockTimeoutMs === undefined ? {} : { lockTimeoutMs }),
    env: {},
    log,
  });
  const app = await buildApp({ ctx, adminSecret: undefined, bodyLimit: 1_048_576, version: 'test', health: async () => ({ ok: true }), log });
  apps.push(app);
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return async (path, body) => {
    const res = await request(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const text = await res.body.text();
    return { status: res.statusCode, json: text ? parseJson(text) : undefined };
  };
}

let post: (path: string, body: unknown) => Promise<Answer>;
const create = (args: Record<string, unknown>) =>
  post('/v1/query', { type: 'create_event_trigger', args: { webhook: WEBHOOK, insert: { columns: '*' }, ...args } });

beforeAll(async () => {
  db = await createTestDatabase();
  admin = new pg.Pool({ connectionString: db.url, max: 4 });
  const id = pg.escapeIdentifier;
  await admin.query(`create role ${id(ROLE)} login password '${PASSWORD}'`);
  await admin.query(`create role ${id(OWNER)} nologin`);
  // What docs/operations.md asks for: CREATE on the database (the catalog schema), TRIGGER on captured tables.
  await admin.query(`grant create on database ${id(db.name)} to ${id(ROLE)}`);
  await admin.query(`
    create table public.own_items (id int primary key);
    alter table public.own_items owner to ${id(ROLE)};
    create table public.lock_items (id int primary key);
    alter table public.lock_items owner to ${id(ROLE)};
    create table public.foreign_items (id int primary key);
    create table public.granted_items (id int primary key);
    alter table public.granted_items owner to ${id(OWNER)};
    grant trigger on public.granted_items to ${id(ROLE)};
    create schema closed;
    create table closed.items (id int primary key);
    grant trigger on closed.items to ${id(ROLE)};
    create table public.clash_items (id int primary key);
    grant trigger on public.clash_items to ${id(ROLE)};
    create function public.audit() returns trigger language plpgsql as 'begin return null; end';
    create trigger "pget_clash_INSERT" after insert on public.clash_items for each row execute function public.audit();
  `);
  const url = new URL(db.url);
  url.username = ROLE;
  url.password = PASSWORD;
  pool = createPool({ connectionString: url.toString(), max: 4, applicationName: 'pget-test', log: pino({ level: 'silent' }) });
  await migrate(pool, 'event_triggers');
  const { rows } = await pool.query('select rolsuper from pg_roles where rolname = current_user');
  expect(rows[0].rolsuper).toBe(false);
  post = await startApp();
});

afterAll(async () => {
  for (const app of apps) await app.close();
  await pool?.end();
  await admin?.end();
  await db?.drop();
  const client = new pg.Client({ connectionString: db.url.replace(/\/[^/]*$/, '/postgres') });
  await client.connect();
  try {
    await client.query(`drop role if exists ${pg.escapeIdentifier(ROLE)}`);
    await client.query(`drop role if exists ${pg.escapeIdentifier(OWNER)}`);
  } finally {
    await client.end();
  }
});

/** Runs a request that must be refused, and checks that the catalog and the user's triggers are untouched. */
async function refused(send: () => Promise<Answer>): Promise<Answer> {
  const before = await catalogSnapshot(admin);
  const res = await send();
  expect(res.status, JSON.stringify(res.json)).toBe(400);
  expect(Object.keys(res.json).sort()).toEqual(['code', 'error', 'path']);
  expect(await catalogSnapshot(admin)).toEqual(before);
  return res;
}

describe('LOCK_TIMEOUT_MS', () => {
  /** An application transaction that wrote to the table and stays open: CREATE TRIGGER must wait for it. */
  async function holdTable(table: string) {
    const holder = await admin.connect();
    await holder.query('begin');
    await holder.query(`insert into public.${table} values ((random() * 1e9)::int)`);
    return async () => {
      await holder.query('rollback');
      holder.release();
    };
  }

  test('by default a create waits 2 s for a locked table, then answers busy; the writes queued behind it go on', async () => {
    const release = await holdTable('lock_items');
    const writer = await admin.connect();
    try {
      const started = Date.now();
      const creating = refused(() => create({ name: 'waits', table: 'lock_items' }));
      // While CREATE TRIGGER waits in the lock queue, the application's next write waits behind it...
      await new Promise((r) => setTimeout(r, 300));
      const write = writer.query('insert into public.lock_items values ((random() * 1e9)::int)').then(() => Date.now());
      const res = await creating;
      const elapsed = Date.now() - started;
      expect(res.json).toEqual({
        path: '$',
        code: 'busy',
        error: 'a table or event this operation needs is locked by another transaction; try again',
      });
      expect(elapsed).toBeGreaterThanOrEqual(1900);
      expect(elapsed).toBeLessThan(6000);
      // ...and goes through once it gives up, while the long transaction is still open.
      expect((await write) - started).toBeLessThan(elapsed + 1000);
    } finally {
      writer.release();
      await release();
    }
    expect((await create({ name: 'waits', table: 'lock_items' })).status).toBe(200);
  });

  test('is configurable', async () => {
    const quick = await startApp(200);
    const release = await holdTable('lock_items');
    try {
      const started = Date.now();
      const res = await quick('/v1/query', { type: 'create_event_trigger', args: { name: 'quick', table: 'lock_items', webhook: WEBHOOK, insert: { columns: '*' } } });
      expect(res.json).toMatchObject({ code: 'busy', path: '$' });
      expect(Date.now() - started).toBeLessThan(1500);
    } finally {
      await release();
    }
  });
});
