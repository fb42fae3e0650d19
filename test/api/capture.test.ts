/**
 * Capture: what the trigger functions write into event_log, in the user's transaction, for every kind
 * of table and column name, and which UPDATEs fire.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startApi, type ApiHarness } from '../support/apiHarness.js';
import { recordNotifications } from '../support/notifications.js';

let api: ApiHarness;
beforeAll(async () => {
  api = await startApi();
});
afterAll(() => api?.close());

async function eventsOf(trigger: string): Promise<Array<{ op: string; payload: any; text: string; schema: string; table: string }>> {
  const { rows } = await api.pool.query(
    `select payload->>'op' as op, payload, payload::text as text, schema_name as schema, table_name as table
     from event_triggers.event_log where trigger_name = $1 order by created_at, id`,
    [trigger],
  );
  return rows;
}

async function create(args: Record<string, unknown>) {
  const res = await api.query('create_event_trigger', { webhook: 'http://127.0.0.1:9/', ...args });
  expect(res.json).toEqual({ message: 'success' });
}

describe('capture', () => {
  test('any identifier works: mixed case, spaces, quotes, non-ASCII, SQL in the name', async () => {
    const schema = 'Schéma "X"';
    const table = `x"; drop table y; --`;
    const column = 'Prénom "de" l\'utilisateur';
    await api.pool.query(`create schema "Schéma ""X"""`);
    await api.pool.query(
      `create table "Schéma ""X"""."x""; drop table y; --" (id int primary key, "${column.replaceAll('"', '""')}" text, "CamelCase" int)`,
    );
    await create({
      name: 'weird',
      table: { schema, name: table },
      insert: { columns: '*', payload: [column] },
      update: { columns: [column, 'CamelCase'] },
    });
    await api.pool.query(`insert into "Schéma ""X"""."x""; drop table y; --" values (1, 'Zoë', 2)`);
    await api.pool.query(`update "Schéma ""X"""."x""; drop table y; --" set "CamelCase" = 3`);
    const events = await eventsOf('weird');
    expect(events.map((e) => e.op)).toEqual(['INSERT', 'UPDATE']);
    expect(events[0]!.payload.data.new).toEqual({ [column]: 'Zoë' });
    expect(events[0]!.schema).toBe(schema);
    expect(events[0]!.table).toBe(table);
    expect(events[1]!.payload.data.old.CamelCase).toBe(2);
    expect(events[1]!.payload.data.new.CamelCase).toBe(3);
  });

  test('UPDATE fires only when a listened column changes, NULL to a value included', async () => {
    await api.pool.query('create table accounts (id int primary key, email text, visits int, doc json, loc point)');
    await create({ name: 'accounts_email', table: 'accounts', update: { columns: ['email', 'doc', 'loc'] } });
    await api.pool.query(`insert into accounts values (1, null, 0, null, null)`);
    await api.pool.query(`update accounts set visits = visits + 1`); // not listened: nothing
    await api.pool.query(`update accounts set email = email`); // no change: nothing
    await api.pool.query(`update accounts set email = 'a@x'`); // NULL to a value: fires
    await api.pool.query(`update accounts set email = null`); // a value to NULL: fires
    await api.pool.query(`update accounts set doc = '{"a":1}'`); // json has no equality operator: fires
    await api.pool.query(`update accounts set doc = '{"a":1}'`); // same text: nothing
    await api.pool.query(`update accounts set loc = point(1,2)`); // point neither: fires
    const events = await eventsOf('accounts_email');
    expect(events.map((e) => [e.payload.data.old.email, e.payload.data.new.email])).toEqual([
      [null, 'a@x'],
      ['a@x', null],
      [null, null],
      [null, null],
    ]);
    expect(events[2]!.payload.data.new.doc).toEqual({ a: 1 });
  });

  test('UPDATE with "*" fires on any change and not on an UPDATE that changes nothing', async () => {
    await api.pool.query('create table notes (id int primary key, body text)');
    await create({ name: 'notes_all', table: 'notes', update: { columns: '*' } });
    await api.pool.query(`insert into notes values (1, 'a')`);
    await api.pool.query(`update notes set body = 'a'`);
    await api.pool.query(`update notes set body = 'b'`);
    expect((await eventsOf('notes_all')).map((e) => e.payload.data.new.body)).toEqual(['b']);
  });

  test('payload restricts the columns of both old and new; INSERT old and DELETE new are null', async () => {
    await api.pool.query('create table people (id int primary key, name text, secret text)');
    await create({
      name: 'people_ev',
      table: 'people',
      insert: { columns: '*', payload: ['id', 'name'] },
      update: { columns: ['name'], payload: ['name'] },
      delete: { columns: '*', payload: ['id'] },
    });
    await api.pool.query(`insert into people values (1, 'ann', 'pw')`);
    await api.pool.query(`update people set name = 'bob'`);
    await api.pool.query(`delete from people`);
    const [ins, upd, del] = await eventsOf('people_ev');
    const unset = { session_variables: null, trace_context: null };
    expect(ins!.payload).toEqual({ op: 'INSERT', data: { old: null, new: { id: 1, name: 'ann' } }, ...unset });
    expect(upd!.payload).toEqual({ op: 'UPDATE', data: { old: { name: 'ann' }, new: { name: 'bob' } }, ...unset });
    expect(del!.payload).toEqual({ op: 'DELETE', data: { old: { id: 1 }, new: null }, ...unset });
  });

  test('values are rendered by PostgreSQL: bigints exact, numerics as written, timestamps as JSON', async () => {
    await api.pool.query('create table amounts (id bigint primary key, amount numeric, at timestamptz, raw jsonb)');
    await create({ name: 'amounts_ev', table: 'amounts', insert: { columns: '*' } });
    await api.pool.query(
      `insert into amounts values (50755254975729665, 10.10, '2024-01-02 03:04:05.678+00', '{"n": 12345678901234567890}')`,
    );
    const [ev] = await eventsOf('amounts_ev');
    expect(ev!.text).toContain('"id": 50755254975729665');
    expect(ev!.text).toContain('"amount": 10.10');
    expect(ev!.text).toContain('"n": 12345678901234567890');
    expect(ev!.payload.data.new.at).toMatch(/^2024-01-02T03:04:05\.678\+00:00$/);
  });

  test('session_variables and trace_context: the JSON of hasura.user and hasura.tracecontext, else null', async () => {
    await api.pool.query('create table sessions (id int primary key)');
    await create({ name: 'sessions_ev', table: 'sessions', insert: { columns: '*' }, delete: { columns: '*' } });
    const client = await api.pool.connect();
    const write = async (settings: Record<string, string>, sql: string) => {
      await client.query('begin');
      // As Hasura sets them (its setHeadersTx): SET LOCAL "hasura.user" = '<json>'.
      for (const [name, value] of Object.entries(settings)) {
        await client.query(`set local ${pg.escapeIdentifier(name)} = ${pg.escapeLiteral(value)}`);
      }
      await client.query(sql);
      await client.query('commit');
    };
    try {
      await write({ 'hasura.user': '{"x-hasura-role":"user","x-hasura-user-id":"1"}' }, 'insert into sessions values (1)');
      await write(
        { 'hasura.user': '{"x-hasura-role":"user"}', 'hasura.tracecontext': '{"trace_id":"abc","span_id":"def"}' },
        'insert into sessions values (2)',
      );
      // Set earlier in the session and reset at commit, the settings now read as '': null, not an error.
      await write({}, 'insert into sessions values (3)');
      // Not JSON: the write goes through, with null.
      await write({ 'hasura.user': 'x-hasura-role=admin', 'hasura.tracecontext': '{"unterminated' }, 'insert into sessions values (4)');
      // Any JSON is kept, as Hasura keeps it; a session-wide SET applies to every write after it.
      await client.query(`set "hasura.user" = '"admin"'`);
      await write({}, 'delete from sessions where id = 1');
      await client.query('reset "hasura.user"');
    } finally {
      client.release();
    }
    const events = await eventsOf('sessions_ev');
    expect(events.map((e) => [e.payload.op, e.payload.session_variables, e.payload.trace_context])).toEqual([
      ['INSERT', { 'x-hasura-role': 'user', 'x-hasura-user-id': '1' }, null],
      ['INSERT', { 'x-hasura-role': 'user' }, { trace_id: 'abc', span_id: 'def' }],
      ['INSERT', null, null],
      ['INSERT', null, null],
      ['DELETE', 'admin', null],
    ]);
    // The keys are there, with null, when nothing was set: webhook handlers read event.session_variables.
    expect(Object.keys(events[2]!.payload).sort()).toEqual(['data', 'op', 'session_variables', 'trace_context']);
    expect(events[2]!.text).toContain('"session_variables": null');
  });

  test('the event is written in the transaction of the change: rolled back, it never existed', async () => {
    await api.pool.query('create table txn (id int primary key)');
    await create({ name: 'txn_ev', table: 'txn', insert: { columns: '*' } });
    const client = await api.pool.connect();
    try {
      await client.query('begin');
      await client.query('insert into txn values (1)');
      await client.query('rollback');
      await client.query('begin');
      await client.query('insert into txn values (2)');
      await client.query('savepoint s');
      await client.query('insert into txn values (3)');
      await client.query('rollback to savepoint s');
      await client.query('commit');
    } finally {
      client.release();
    }
    expect((await eventsOf('txn_ev')).map((e) => e.payload.data.new.id)).toEqual([2]);
  });

  test('capture sends one NOTIFY per transaction while a daemon holds the wake lock, none otherwise', async () => {
    await api.pool.query('create table woken (id int primary key)');
    await create({ name: 'woken_ev', table: 'woken', insert: { columns: '*' } });
    const listener = await api.pool.connect();
    const sleeper = await api.pool.connect();
    const heard = recordNotifications(listener, 'event_triggers_events');
    await listener.query('listen event_triggers_events');
    const wakeLock = 'event_triggers.wake_lock_class(), 0';
    try {
      // Nobody sleeps (busy daemons poll, or none runs): no NOTIFY, so no serialised commits.
      await api.pool.query('insert into woken select generate_series(1, 100)');
      await api.pool.query('insert into woken values (101)');
      expect(await heard.settled(api.pool)).toEqual([]);
      // A daemon sleeps until NOTIFY: one per transaction, however many rows.
      expect((await sleeper.query(`select pg_try_advisory_lock(${wakeLock}) as held`)).rows[0].held).toBe(true);
      await api.pool.query('insert into woken select generate_series(201, 300)');
      await api.pool.query('insert into woken values (301)');
      const wakes = { channel: 'event_triggers_events', payload: '' };
      expect(await heard.settled(api.pool)).toEqual([wakes, wakes]);
      // While a capturing transaction is open, the lock cannot be taken: its NOTIFY was skipped, and the
      // daemon must not sleep before that transaction's event is visible.
      await sleeper.query(`select pg_advisory_unlock(${wakeLock})`);
      const writer = await api.pool.connect();
      try {
        await writer.query('begin');
        await writer.query('insert into woken values (401)');
        expect((await sleeper.query(`select pg_try_advisory_lock(${wakeLock}) as held`)).rows[0].held).toBe(false);
        await writer.query('commit');
        expect((await sleeper.query(`select pg_try_advisory_lock(${wakeLock}) as held`)).rows[0].held).toBe(true);
      } finally {
        writer.release();
      }
    } finally {
      await sleeper.query('select pg_advisory_unlock_all()');
      sleeper.release();
      await listener.query('unlisten *');
      heard.stop();
      listener.release();
    }
  });
});
