/**
 * User DDL on captured tables never breaks the user's writes. Renames are followed by the capture;
 * what PostgreSQL's dependencies protect is refused by PostgreSQL with the capture trigger named;
 * what leaves a trigger describing things that are gone is reported by get_inconsistent_metadata.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startApi, type ApiHarness } from '../support/apiHarness.js';

let api: ApiHarness;
beforeAll(async () => {
  api = await startApi();
});
afterAll(() => api?.close());

async function create(args: Record<string, unknown>) {
  const res = await api.query('create_event_trigger', { webhook: 'http://127.0.0.1:9/', ...args });
  expect(res.json).toEqual({ message: 'success' });
}

async function lastEvent(trigger: string) {
  const { rows } = await api.pool.query(
    `select schema_name, table_name, payload from event_triggers.event_log
     where trigger_name = $1 order by created_at desc, id desc limit 1`,
    [trigger],
  );
  return rows[0];
}

async function inconsistencies() {
  const res = await api.post('/v1/metadata', { type: 'get_inconsistent_metadata', args: {} });
  expect(res.status).toBe(200);
  return res.json as {
    is_consistent: boolean;
    inconsistent_objects: Array<{ type: string; reason: string; definition: { name: string } }>;
  };
}

const reasonFor = async (name: string) => (await inconsistencies()).inconsistent_objects.find((o) => o.definition.name === name)?.reason;

describe('DDL on captured tables', () => {
  test('renaming the table and its schema: writes go on, events carry the new names', async () => {
    await api.pool.query('create schema shop; create table shop.orders (id int primary key, total int)');
    await create({
      name: 'orders_ev',
      table: { schema: 'shop', name: 'orders' },
      insert: { columns: '*' },
      update: { columns: ['total'] },
    });
    await api.pool.query('alter table shop.orders rename to purchases');
    await api.pool.query('alter schema shop rename to store');
    await api.pool.query('insert into store.purchases values (1, 10)');
    await api.pool.query('update store.purchases set total = 11');
    expect(await lastEvent('orders_ev')).toMatchObject({ schema_name: 'store', table_name: 'purchases' });
    const invoked = await api.query('invoke_event_trigger', { name: 'orders_ev', payload: { by: 'hand' } });
    const { rows } = await api.pool.query('select schema_name, table_name from event_triggers.event_log where id = $1', [
      invoked.json.event_id,
    ]);
    expect(rows[0]).toEqual({ schema_name: 'store', table_name: 'purchases' });
    expect(await reasonFor('orders_ev')).toBeUndefined();
  });

  test('renaming a listened column: UPDATEs still fire, and the stale definition is reported', async () => {
    await api.pool.query('create table accounts (id int primary key, email text)');
    await create({ name: 'accounts_ev', table: 'accounts', update: { columns: ['email'] } });
    await api.pool.query('alter table accounts rename column email to mail');
    await api.pool.query(`insert into accounts values (1, 'a@x')`);
    await api.pool.query(`update accounts set mail = 'b@x'`);
    expect((await lastEvent('accounts_ev')).payload.data.new).toEqual({ id: 1, mail: 'b@x' });
    expect(await reasonFor('accounts_ev')).toMatch(/update\.columns names column "email" that no longer exists/);
  });

  test('dropping a payload column: writes go on without it, and it is reported', async () => {
    await api.pool.query('create table profiles (id int primary key, name text, bio text)');
    await create({ name: 'profiles_ev', table: 'profiles', insert: { columns: '*', payload: ['id', 'bio'] } });
    await api.pool.query('alter table profiles drop column bio');
    await api.pool.query(`insert into profiles values (1, 'ann')`);
    expect((await lastEvent('profiles_ev')).payload.data.new).toEqual({ id: 1 });
    expect(await reasonFor('profiles_ev')).toMatch(/insert\.payload names column "bio"/);
  });

  test('dropping or retyping a listened column is refused by PostgreSQL, naming the capture trigger', async () => {
    await api.pool.query('create table prices (id int primary key, amount int)');
    await create({ name: 'prices_ev', table: 'prices', update: { columns: ['amount'] } });
    const drop = await api.pool.query('alter table prices drop column amount').catch((e: { message: string; detail?: string }) => e);
    expect((drop as { message: string }).message).toMatch(/cannot drop column amount/);
    expect((drop as { detail?: string }).detail).toMatch(/trigger pget_prices_ev_UPDATE/);
    const retype = await api.pool.query('alter table prices alter column amount type bigint').catch((e: Error) => e);
    expect((retype as Error).message).toMatch(/trigger/);
    await api.pool.query('insert into prices values (1, 1)');
    await api.pool.query('update prices set amount = 2');
    expect((await lastEvent('prices_ev')).payload.data.new.amount).toBe(2);
  });

  test('DROP COLUMN ... CASCADE of a listened column drops the UPDATE capture: writes go on, and it is reported', async () => {
    await api.pool.query('create table stock (id int primary key, qty int, note text)');
    await create({ name: 'stock_ev', table: 'stock', insert: { columns: '*' }, update: { columns: ['qty'] } });
    await api.pool.query('alter table stock drop column qty cascade');
    const { rows } = await api.pool.query(`select tgname from pg_trigger where tgrelid = 'stock'::regclass and not tgisinternal`);
    expect(rows).toEqual([{ tgname: 'pget_stock_ev_INSERT' }]);
    await api.pool.query(`insert into stock values (1, 'a')`);
    await api.pool.query(`update stock set note = 'b'`);
    expect((await lastEvent('stock_ev')).payload.op).toBe('INSERT');
    expect(await reasonFor('stock_ev')).toBe(
      'the SQL trigger pget_stock_ev_UPDATE is missing: UPDATE is not captured; ' +
        'update.columns names column "qty" that no longer exists in "public.stock"',
    );
  });

  test("DROP SCHEMA ... CASCADE of the table's schema: reported like a dropped table; delete and recreate work", async () => {
    await api.pool.query('create schema doomed; create table doomed.things (id int primary key)');
    await create({ name: 'doomed_ev', table: { schema: 'doomed', name: 'things' }, insert: { columns: '*' }, delete: { columns: '*' } });
    await api.pool.query('drop schema doomed cascade');
    expect(await reasonFor('doomed_ev')).toBe('table "doomed.things" no longer exists: the trigger captures nothing');
    // The capture functions live in the catalog's schema: they stay, unused, until the trigger goes.
    const functions = async () =>
      (await api.pool.query(`select proname from pg_proc where proname like 'pget\\_doomed\\_ev%' order by 1`)).rows.map((r) => r.proname);
    expect(await functions()).toEqual(['pget_doomed_ev_DELETE', 'pget_doomed_ev_INSERT']);
    expect((await api.query('delete_event_trigger', { name: 'doomed_ev' })).status).toBe(200);
    expect(await functions()).toEqual([]);
    await api.pool.query('create schema doomed; create table doomed.things (id int primary key)');
    await create({ name: 'doomed_ev', table: { schema: 'doomed', name: 'things' }, insert: { columns: '*' } });
    await api.pool.query('insert into doomed.things values (1)');
    expect(await lastEvent('doomed_ev')).toMatchObject({ schema_name: 'doomed', table_name: 'things' });
    expect(await reasonFor('doomed_ev')).toBeUndefined();
  });

  test('dropping the table: the trigger is reported inconsistent, and can be deleted or recreated', async () => {
    await api.pool.query('create table temp_things (id int primary key)');
    await create({ name: 'things_ev', table: 'temp_things', insert: { columns: '*' } });
    await api.pool.query('drop table temp_things');
    const report = await inconsistencies();
    expect(report.is_consistent).toBe(false);
    const things = report.inconsistent_objects.find((o) => o.definition.name === 'things_ev');
    expect(things).toMatchObject({ type: 'event_trigger' });
    expect(things!.reason).toMatch(/table "public.temp_things" no longer exists/);
    await api.pool.query('create table temp_things (id int primary key)');
    await create({ name: 'things_ev', table: 'temp_things', insert: { columns: '*' }, replace: true });
    expect(await reasonFor('things_ev')).toBeUndefined();
    await api.pool.query('insert into temp_things values (1)');
    expect(await lastEvent('things_ev')).toMatchObject({ table_name: 'temp_things' });
    expect((await api.query('delete_event_trigger', { name: 'things_ev' })).status).toBe(200);
  });

  test('a capture trigger dropped by hand is reported', async () => {
    await api.pool.query('create table audits (id int primary key)');
    await create({ name: 'audits_ev', table: 'audits', insert: { columns: '*' } });
    await api.pool.query('drop trigger "pget_audits_ev_INSERT" on audits');
    expect(await reasonFor('audits_ev')).toMatch(/pget_audits_ev_INSERT is missing/);
  });

  test('DISABLE TRIGGER (ALL or one): writes go on uncaptured, and each disabled capture is reported until enabled', async () => {
    await api.pool.query('create table switches (id int primary key, v int)');
    await create({ name: 'switches_ev', table: 'switches', insert: { columns: '*' }, update: { columns: '*' }, delete: { columns: '*' } });
    await api.pool.query('alter table switches disable trigger all');
    await api.pool.query('insert into switches values (1, 1)');
    await api.pool.query('update switches set v = 2');
    expect(await lastEvent('switches_ev')).toBeUndefined();
    const reason = await reasonFor('switches_ev');
    for (const op of ['INSERT', 'UPDATE', 'DELETE']) {
      expect(reason).toContain(
        `the SQL trigger pget_switches_ev_${op} is disabled (ALTER TABLE ... DISABLE TRIGGER): ${op} is not captured`,
      );
    }
    await api.pool.query('alter table switches enable trigger all');
    expect(await reasonFor('switches_ev')).toBeUndefined();
    await api.pool.query(`alter table switches disable trigger "pget_switches_ev_UPDATE"`);
    expect(await reasonFor('switches_ev')).toBe(
      'the SQL trigger pget_switches_ev_UPDATE is disabled (ALTER TABLE ... DISABLE TRIGGER): UPDATE is not captured',
    );
    await api.pool.query('update switches set v = 3');
    await api.pool.query('delete from switches');
    expect((await lastEvent('switches_ev')).payload.op).toBe('DELETE');
    // Replacing the trigger installs its capture afresh, enabled.
    await create({ name: 'switches_ev', table: 'switches', insert: { columns: '*' }, replace: true });
    expect(await reasonFor('switches_ev')).toBeUndefined();
  });

  test('a capture that fires in the wrong replication mode is reported', async () => {
    await api.pool.query('create table replicas (id int primary key)');
    await create({ name: 'replica_only', table: 'replicas', insert: { columns: '*' } });
    await create({ name: 'always_ev', table: 'replicas', delete: { columns: '*' }, trigger_on_replication: true });
    await api.pool.query(`alter table replicas enable replica trigger "pget_replica_only_INSERT"`);
    // ENABLE TRIGGER (ALL) sets every trigger to fire outside replication only, ALWAYS included.
    await api.pool.query(`alter table replicas enable trigger "pget_always_ev_DELETE"`);
    expect(await reasonFor('replica_only')).toBe(
      'the SQL trigger pget_replica_only_INSERT is enabled for replication only (ENABLE REPLICA TRIGGER): INSERT is captured only from replication',
    );
    expect(await reasonFor('always_ev')).toBe(
      'the SQL trigger pget_always_ev_DELETE does not fire for replicated rows, although trigger_on_replication is true: DELETE from replication is not captured',
    );
    await api.pool.query(
      `alter table replicas enable always trigger "pget_replica_only_INSERT", enable always trigger "pget_always_ev_DELETE"`,
    );
    expect(await reasonFor('replica_only')).toMatch(/fires for replicated rows too .*trigger_on_replication is false/);
    expect(await reasonFor('always_ev')).toBeUndefined();
  });

  test('a capture disabled on one partition, or on the partitioned table only, is reported with the table it is on', async () => {
    await api.pool.query(`create table readings (id int, k int not null) partition by list (k);
      create table readings_1 partition of readings for values in (1);
      create table readings_2 partition of readings for values in (2)`);
    await create({ name: 'readings_ev', table: 'readings', insert: { columns: '*' } });
    // On the partitioned table, ALTER TABLE reaches every partition: one reason.
    await api.pool.query(`alter table readings disable trigger "pget_readings_ev_INSERT"`);
    expect(await reasonFor('readings_ev')).toBe(
      'the SQL trigger pget_readings_ev_INSERT is disabled (ALTER TABLE ... DISABLE TRIGGER): INSERT is not captured',
    );
    await api.pool.query(`alter table readings enable trigger "pget_readings_ev_INSERT"`);
    // On one partition: its rows only.
    await api.pool.query(`alter table readings_2 disable trigger "pget_readings_ev_INSERT"`);
    await api.pool.query('insert into readings values (1, 1), (2, 2)');
    const { rows } = await api.pool.query(
      `select payload->'data'->'new'->>'k' as k from event_triggers.event_log where trigger_name = 'readings_ev'`,
    );
    expect(rows).toEqual([{ k: '1' }]);
    expect(await reasonFor('readings_ev')).toBe(
      'the SQL trigger pget_readings_ev_INSERT is disabled on partition "public.readings_2" (ALTER TABLE ... DISABLE TRIGGER): INSERT is not captured',
    );
    // ONLY on the partitioned table: its own trigger, which the partitions' clones do not follow.
    await api.pool.query(`alter table readings_2 enable trigger "pget_readings_ev_INSERT"`);
    await api.pool.query(`alter table only readings disable trigger "pget_readings_ev_INSERT"`);
    expect(await reasonFor('readings_ev')).toBe(
      'the SQL trigger pget_readings_ev_INSERT is disabled on "public.readings" itself (ALTER TABLE ... DISABLE TRIGGER): INSERT is not captured',
    );
  });

  test('a partitioned table is captured under its own name, whatever the partition', async () => {
    await api.pool.query(`create table measures (id int, at date not null, v int) partition by range (at);
      create table measures_2024 partition of measures for values from ('2024-01-01') to ('2025-01-01');
      create table measures_2025 partition of measures for values from ('2025-01-01') to ('2026-01-01')`);
    await create({ name: 'measures_ev', table: 'measures', insert: { columns: '*' }, update: { columns: ['v'] } });
    await api.pool.query(`insert into measures values (1, '2024-05-01', 1), (2, '2025-05-01', 2)`);
    await api.pool.query(`update measures set v = v + 1 where id = 2`);
    const { rows } = await api.pool.query(
      `select table_name, payload->>'op' as op from event_triggers.event_log where trigger_name = 'measures_ev' order by created_at, id`,
    );
    expect(rows).toEqual([
      { table_name: 'measures', op: 'INSERT' },
      { table_name: 'measures', op: 'INSERT' },
      { table_name: 'measures', op: 'UPDATE' },
    ]);
    expect(await reasonFor('measures_ev')).toBeUndefined();
  });

  test('a trigger on a sub-partition names that table, not the root: the table the trigger is on', async () => {
    // root ⊃ mid ⊃ leaf, the leaf in another schema; one event trigger on the root, one on mid.
    await api.pool.query(`create schema leaves;
      create table root (id int, region text not null, at date not null) partition by list (region);
      create table mid partition of root for values in ('eu') partition by range (at);
      create table leaves.leaf partition of mid for values from ('2024-01-01') to ('2025-01-01')`);
    await create({ name: 'root_ev', table: 'root', insert: { columns: '*' } });
    await create({ name: 'mid_ev', table: 'mid', insert: { columns: '*' }, update: { columns: ['at'] } });
    // Through each level: the row lands in the leaf every time.
    await api.pool.query(`insert into root values (1, 'eu', '2024-02-01')`);
    await api.pool.query(`insert into mid values (2, 'eu', '2024-03-01')`);
    await api.pool.query(`insert into leaves.leaf values (3, 'eu', '2024-04-01')`);
    await api.pool.query('alter table mid rename to middle');
    await api.pool.query(`update root set at = '2024-05-01' where id = 1`);
    const { rows } = await api.pool.query(
      `select trigger_name, schema_name, table_name, payload->>'op' as op, payload->'data'->'new'->>'id' as id
       from event_triggers.event_log where trigger_name in ('root_ev', 'mid_ev') order by trigger_name, created_at, id`,
    );
    expect(rows).toEqual([
      { trigger_name: 'mid_ev', schema_name: 'public', table_name: 'mid', op: 'INSERT', id: '1' },
      { trigger_name: 'mid_ev', schema_name: 'public', table_name: 'mid', op: 'INSERT', id: '2' },
      { trigger_name: 'mid_ev', schema_name: 'public', table_name: 'mid', op: 'INSERT', id: '3' },
      { trigger_name: 'mid_ev', schema_name: 'public', table_name: 'middle', op: 'UPDATE', id: '1' },
      { trigger_name: 'root_ev', schema_name: 'public', table_name: 'root', op: 'INSERT', id: '1' },
      { trigger_name: 'root_ev', schema_name: 'public', table_name: 'root', op: 'INSERT', id: '2' },
      { trigger_name: 'root_ev', schema_name: 'public', table_name: 'root', op: 'INSERT', id: '3' },
    ]);
    expect(await reasonFor('mid_ev')).toBeUndefined();
  });
});
