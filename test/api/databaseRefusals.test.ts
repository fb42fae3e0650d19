/**
 * What PostgreSQL refuses the daemon's own role, over real HTTP with the daemon connected as a role that
 * is not a superuser (as in production): a missing privilege is permission-denied, a trigger already
 * named like a capture trigger is already-exists, a table locked by a long transaction is busy after
 * LOCK_TIMEOUT_MS. Each answers 400 in Hasura's shape, names the remedy, and changes nothing; none is a 500.
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
  const app = await buildApp({
    ctx,
    adminSecret: undefined,
    bodyLimit: 1_048_576,
    version: 'test',
    health: () => Promise.resolve({ ok: true }),
    log,
  });
  apps.push(app);
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return async (path, body) => {
    const res = await request(`${url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
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

describe('the privileges of the daemon role', () => {
  test('on a table it owns, everything works, trigger_on_replication included', async () => {
    const res = await create({ name: 'own', table: 'own_items', trigger_on_replication: true });
    expect(res).toEqual({ status: 200, json: { message: 'success' } });
  });

  test('no TRIGGER privilege: permission-denied naming the GRANT, which then makes it work', async () => {
    const res = await refused(() => create({ name: 'foreign', table: 'foreign_items' }));
    expect(res.json).toEqual({
      path: '$.args',
      code: 'permission-denied',
      error: `the daemon's database role "${ROLE}" lacks the TRIGGER privilege on table "public.foreign_items": GRANT TRIGGER ON "public"."foreign_items" TO "${ROLE}"`,
    });
    // Over JSON-RPC, with its own application code.
    const rpc = await post('/rpc', {
      jsonrpc: '2.0',
      id: 1,
      method: 'create_event_trigger',
      params: { name: 'foreign', table: 'foreign_items', webhook: WEBHOOK, insert: { columns: '*' } },
    });
    expect(rpc.status).toBe(200);
    expect(rpc.json.error).toMatchObject({ code: -32007, data: { code: 'permission-denied', path: '$.args' } });
    await admin.query(res.json.error.split(': ').at(-1));
    expect((await create({ name: 'foreign', table: 'foreign_items' })).status).toBe(200);
  });

  test('no USAGE on the schema: permission-denied naming the GRANT', async () => {
    const res = await refused(() => create({ name: 'closed', table: { schema: 'closed', name: 'items' } }));
    expect(res.json).toMatchObject({ path: '$.args', code: 'permission-denied' });
    expect(res.json.error).toContain(`GRANT USAGE ON SCHEMA "closed" TO "${ROLE}"`);
  });

  test('trigger_on_replication on a table it does not own: permission-denied naming the owner; fine without it', async () => {
    const res = await refused(() => create({ name: 'replicated', table: 'granted_items', trigger_on_replication: true }));
    expect(res.json).toEqual({
      path: '$.args',
      code: 'permission-denied',
      error:
        `trigger_on_replication needs the daemon's database role "${ROLE}" to own table "public.granted_items" ` +
        `(only its owner may ENABLE ALWAYS TRIGGER), and it is owned by "${OWNER}": GRANT "${OWNER}" TO "${ROLE}", ` +
        'or leave trigger_on_replication false',
    });
    expect((await create({ name: 'replicated', table: 'granted_items' })).status).toBe(200);
    // The remedy works: a member of the owner role may enable the trigger always.
    await admin.query(`grant ${pg.escapeIdentifier(OWNER)} to ${pg.escapeIdentifier(ROLE)}`);
    try {
      expect((await create({ name: 'replicated', table: 'granted_items', trigger_on_replication: true, replace: true })).status).toBe(200);
      const { rows } = await admin.query(`select tgenabled from pg_trigger where tgname = 'pget_replicated_INSERT'`);
      expect(rows).toEqual([{ tgenabled: 'A' }]);
    } finally {
      await admin.query(`revoke ${pg.escapeIdentifier(OWNER)} from ${pg.escapeIdentifier(ROLE)}`);
    }
  });

  test('a refusal PostgreSQL makes past the checks is permission-denied too, with its own words', async () => {
    expect((await create({ name: 'orphaned', table: 'own_items' })).status).toBe(200);
    // The catalog schema and the capture function now belong to another role (a catalog set up by
    // someone else): DROP FUNCTION is refused with 42501, which no check foresees.
    const id = pg.escapeIdentifier;
    const handOver = async (to: string) => {
      await admin.query(`alter function event_triggers."pget_orphaned_INSERT"() owner to ${id(to)}`);
      await admin.query(`alter schema event_triggers owner to ${id(to)}`);
    };
    await handOver(OWNER);
    await admin.query(`grant usage on schema event_triggers to ${id(ROLE)}`);
    try {
      const res = await refused(() => post('/v1/query', { type: 'delete_event_trigger', args: { name: 'orphaned' } }));
      expect(res.json).toMatchObject({ path: '$.args', code: 'permission-denied' });
      expect(res.json.error).toMatch(/^PostgreSQL refused the daemon's database role: must be owner of function/);
    } finally {
      await handOver(ROLE);
    }
    expect((await post('/v1/query', { type: 'delete_event_trigger', args: { name: 'orphaned' } })).status).toBe(200);
  });
});

describe('a trigger already named like a capture trigger', () => {
  test('is already-exists at $.args, naming it; the user trigger stays; another name works', async () => {
    const res = await refused(() => create({ name: 'clash', table: 'clash_items' }));
    expect(res.json).toEqual({
      path: '$.args',
      code: 'already-exists',
      error:
        'table "public.clash_items" already has a trigger named "pget_clash_INSERT" that is not this event trigger\'s: ' +
        'drop or rename that trigger, or give the event trigger another name',
    });
    // Only the operations being created count: an update-only trigger of that name does not clash.
    expect((await create({ name: 'clash', table: 'clash_items', insert: null, update: { columns: '*' } })).status).toBe(200);
    const replaced = await refused(() => create({ name: 'clash', table: 'clash_items', replace: true }));
    expect(replaced.json).toMatchObject({ path: '$.args', code: 'already-exists' });
    expect((await create({ name: 'clash_2', table: 'clash_items' })).status).toBe(200);
  });
});

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
        path: '$.args',
        code: 'busy',
        error: 'a table or event this operation needs is locked by another transaction; try again',
      });
      expect(elapsed).toBeGreaterThanOrEqual(1900);
      // ...and goes through once it gives up, while the long transaction is still open (were it queued
      // behind that transaction, this await would never end: the transaction ends in the finally below).
      expect(await write).toBeGreaterThanOrEqual(started);
    } finally {
      writer.release();
      await release();
    }
    expect((await create({ name: 'waits', table: 'lock_items' })).status).toBe(200);
  });

  test('in a bulk, busy names the operation that waited, and none of the bulk is applied', async () => {
    const release = await holdTable('lock_items');
    try {
      const res = await refused(() =>
        post('/v1/query', {
          type: 'bulk',
          args: [
            { type: 'create_event_trigger', args: { name: 'bulk_first', table: 'own_items', webhook: WEBHOOK, insert: { columns: '*' } } },
            {
              type: 'create_event_trigger',
              args: { name: 'bulk_second', table: 'lock_items', webhook: WEBHOOK, insert: { columns: '*' } },
            },
          ],
        }),
      );
      expect(res.json).toMatchObject({ code: 'busy', path: '$.args[1].args' });
    } finally {
      await release();
    }
  });

  test('is configurable', async () => {
    // Longer than the default, so that only the setting can explain the wait (a lower bound holds on a
    // loaded machine, an upper one may not).
    const patient = await startApp(3000);
    const release = await holdTable('lock_items');
    try {
      const started = Date.now();
      const res = await patient('/v1/query', {
        type: 'create_event_trigger',
        args: { name: 'patient', table: 'lock_items', webhook: WEBHOOK, insert: { columns: '*' } },
      });
      expect(res.json).toMatchObject({ code: 'busy', path: '$.args' });
      expect(Date.now() - started).toBeGreaterThanOrEqual(2900);
    } finally {
      await release();
    }
  });
});
