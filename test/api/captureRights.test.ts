/**
 * Whose rights capture runs in. The capture function runs as the role that wrote the row (so a cast to
 * json that the table's owner defines runs as that owner, never as the daemon's role); only
 * enqueue_event runs as the daemon's role, and it takes no orders from anyone but a trigger.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startApi, type ApiHarness } from '../support/apiHarness.js';

let api: ApiHarness;
const roles: string[] = [];

beforeAll(async () => {
  api = await startApi();
});
afterAll(async () => {
  for (const role of roles) await api?.pool.query(`drop owned by ${role}; drop role ${role}`).catch(() => undefined);
  await api?.close();
});

/** A role of the cluster (roles are not per database): a unique name, dropped after the file. */
async function createRole(prefix: string): Promise<string> {
  const role = `${prefix}_${Math.random().toString(36).slice(2, 10)}`;
  await api.pool.query(`create role ${role}`);
  roles.push(role);
  return role;
}

async function create(args: Record<string, unknown>) {
  const res = await api.query('create_event_trigger', { webhook: 'http://127.0.0.1:9/', ...args });
  expect(res.json).toEqual({ message: 'success' });
}

async function eventsOf(trigger: string) {
  const { rows } = await api.pool.query(
    `select schema_name, table_name, payload from event_triggers.event_log where trigger_name = $1 order by created_at, id`,
    [trigger],
  );
  return rows as Array<{ schema_name: string; table_name: string; payload: any }>;
}

/**
 * Runs `work` as `role` on a connection of its own, with every NOTICE it raises collected. The
 * connection is closed afterwards, so the temporary objects it made go with it.
 */
async function asRole<T>(role: string, work: (client: pg.Client, notices: string[]) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: api.db.url });
  await client.connect();
  const notices: string[] = [];
  client.on('notice', (n) => notices.push(n.message ?? ''));
  try {
    await client.query(`set role ${role}`);
    return await work(client, notices);
  } finally {
    await client.end();
  }
}

describe('capture runs in the rights of the writer', () => {
  test('a cast to json defined by the table owner runs as the writer, not as the daemon role', async () => {
    const { rows } = await api.pool.query('select rolsuper from pg_roles where rolname = current_user');
    expect(rows[0].rolsuper, 'the harness connects as a superuser: the escalation would be to superuser').toBe(true);
    const alice = await createRole('pget_alice');
    await api.pool.query(`create schema app authorization ${alice}`);
    await asRole(alice, (c) => c.query('create table app.orders (id int primary key)'));
    await create({ name: 'orders_ev', table: { schema: 'app', name: 'orders' }, insert: { columns: '*' }, update: { columns: '*' } });

    // The reviewer's repro: alice owns the table, so she may add a column of a type of hers whose cast
    // to json runs her function. to_jsonb(NEW) calls that cast.
    const notices = await asRole(alice, async (c, notices) => {
      await c.query(`create type app.mood as enum ('x')`);
      await c.query(`create function app.evil(app.mood) returns json language plpgsql as $$
        begin
          raise notice 'as % super=%', current_user, (select rolsuper from pg_roles where rolname = current_user);
          return '"from the cast"';
        end $$`);
      await c.query('create cast (app.mood as json) with function app.evil(app.mood)');
      await c.query('alter table app.orders add column m app.mood');
      await c.query(`insert into app.orders values (1, 'x')`);
      await c.query(`update app.orders set id = 2`);
      return notices;
    });
    expect(notices.length).toBeGreaterThanOrEqual(2);
    expect(new Set(notices)).toEqual(new Set([`as ${alice} super=f`]));
    // The cast did run, for the event: its value is what the event carries.
    const events = await eventsOf('orders_ev');
    expect(events.map((e) => [e.payload.op, e.payload.data.new])).toEqual([
      ['INSERT', { id: 1, m: 'from the cast' }],
      ['UPDATE', { id: 2, m: 'from the cast' }],
    ]);
  });

  test('a role that may only write the table (no catalog privilege) captures insert, update and delete', async () => {
    await api.pool.query('create table shared_writes (id int primary key, v text)');
    await create({
      name: 'shared_ev',
      table: 'shared_writes',
      insert: { columns: '*' },
      update: { columns: ['v'], payload: ['v'] },
      delete: { columns: '*' },
    });
    const writer = await createRole('pget_writer');
    await api.pool.query(`grant usage on schema public to ${writer}; grant select, insert, update, delete on shared_writes to ${writer}`);
    await asRole(writer, async (c) => {
      await c.query(`insert into shared_writes values (1, 'a')`);
      await c.query(`update shared_writes set v = 'b'`);
      await c.query('delete from shared_writes');
      // Nothing of the catalog is readable or writable by the writer itself.
      await expect(c.query('select * from event_triggers.event_log')).rejects.toThrow(/permission denied for table event_log/);
      await expect(c.query('select * from event_triggers.event_triggers')).rejects.toThrow(/permission denied/);
      await expect(
        c.query(
          `insert into event_triggers.event_log (schema_name, table_name, trigger_name, payload) values ('a', 'b', 'shared_ev', '{}')`,
        ),
      ).rejects.toThrow(/permission denied/);
    });
    expect((await eventsOf('shared_ev')).map((e) => e.payload.data)).toEqual([
      { old: null, new: { id: 1, v: 'a' } },
      { old: { v: 'a' }, new: { v: 'b' } },
      { old: { id: 1, v: 'b' }, new: null },
    ]);
  });
});

describe('enqueue_event, the one function that runs as the daemon role', () => {
  test('refuses to run outside a trigger, for anyone', async () => {
    const outsider = await createRole('pget_outsider');
    await api.pool.query(`create table direct (id int)`);
    await create({ name: 'direct_ev', table: 'direct', insert: { columns: '*' } });
    const call = `select event_triggers.enqueue_event('public', 'direct', 'direct_ev', '{"op":"INSERT","data":{"old":null,"new":{"id":1}}}')`;
    await asRole(outsider, async (c) => {
      await expect(c.query(call)).rejects.toThrow(/may only be called by a capture trigger/);
    });
    await expect(api.pool.query(call)).rejects.toThrow(/may only be called by a capture trigger/);
    expect(await eventsOf('direct_ev')).toEqual([]);
  });

  test('from a trigger of the caller: an unknown trigger name is dropped, a known one is recorded (the documented bound)', async () => {
    await api.pool.query(`create table victim (id int)`);
    await create({ name: 'victim_ev', table: 'victim', insert: { columns: '*' } });
    const mallory = await createRole('pget_mallory');
    // Any role that may create a trigger on some table (a temporary one will do) can call enqueue_event
    // from it: docs/security.md says so. What it cannot do is name a trigger that does not exist.
    await asRole(mallory, async (c) => {
      await c.query('create temp table mine (id int)');
      await c.query(`create function pg_temp.forge() returns trigger language plpgsql as $$
        begin
          perform event_triggers.enqueue_event('public', 'victim', 'no_such_trigger', '{"op":"INSERT"}');
          perform event_triggers.enqueue_event('public', 'victim', 'victim_ev', '{"op":"INSERT","data":{"old":null,"new":{"id":666}}}');
          return null;
        end $$`);
      await c.query('create trigger forge after insert on mine for each row execute function pg_temp.forge()');
      await c.query('insert into mine values (1)');
    });
    const { rows } = await api.pool.query(`select trigger_name from event_triggers.event_log where table_name = 'victim'`);
    expect(rows).toEqual([{ trigger_name: 'victim_ev' }]);
  });

  test('no one but the daemon role may put a capture function on a table of their own', async () => {
    await api.pool.query(`create table guarded (id int)`);
    await create({ name: 'guarded_ev', table: 'guarded', insert: { columns: '*' } });
    const mallory = await createRole('pget_mallory');
    await asRole(mallory, async (c) => {
      await c.query('create temp table mine (id int)');
      await expect(
        c.query(`create trigger steal after insert on mine for each row execute function event_triggers."pget_guarded_ev_INSERT"()`),
      ).rejects.toThrow(/permission denied for function/);
    });
    // EXECUTE is needed to create a trigger, not to fire one: writers of the table are not affected.
    const { rows } = await api.pool.query(`
      select p.proname, p.prosecdef, has_function_privilege('public', p.oid, 'execute') as public_execute
      from pg_proc p where p.pronamespace = 'event_triggers'::regnamespace order by p.proname`);
    const byName = Object.fromEntries(rows.map((r) => [r.proname, r]));
    expect(byName['pget_guarded_ev_INSERT']).toMatchObject({ prosecdef: false, public_execute: false });
    expect(byName['enqueue_event']).toMatchObject({ prosecdef: true, public_execute: true });
    // Every other catalog function is the daemon's alone (but the two a capture calls in the writer's
    // rights: pick_columns, stringify_numbers), and only enqueue_event runs as its owner.
    expect(
      rows
        .filter((r) => r.public_execute)
        .map((r) => r.proname)
        .sort(),
    ).toEqual(['enqueue_event', 'pick_columns', 'stringify_numbers']);
    expect(rows.filter((r) => r.prosecdef).map((r) => r.proname)).toEqual(['enqueue_event']);
  });
});
