/**
 * Hasura's event-trigger tests, ported: server/tests-py/test_events.py of hasura/graphql-engine with its
 * fixtures in server/tests-py/queries/event_triggers/. Each describe names the Hasura class and the
 * fixture it comes from; each test the Hasura test. One daemon and one database serve the whole file,
 * configured as Hasura's suite runs its server: --stringify-numeric-types, EVENT_WEBHOOK_HEADER and
 * WEBHOOK_FROM_ENV set, and (for TestEventFloodPostgresMSSQL) HTTP pool 8, fetch batch 100.
 *
 * What cannot apply, and why, is listed in docs/api.md ("Hasura's tests").
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openTestDatabase, startTestDaemon, type DaemonHarness } from '../support/daemonHarness.js';
import { checkEvent, expectCaptured, startHasuraWebhook, write, type HasuraWebhook } from './hasuraSupport.js';

let database: Awaited<ReturnType<typeof openTestDatabase>>;
let daemon: DaemonHarness;
let webhook: HasuraWebhook;

beforeAll(async () => {
  database = await openTestDatabase();
  webhook = await startHasuraWebhook();
  await database.pool.query('create schema hge_tests');
  daemon = await startTestDaemon(database.db.url, {
    env: { STRINGIFY_NUMERIC_TYPES: 'true', EVENTS_HTTP_POOL_SIZE: '8', EVENTS_FETCH_BATCH_SIZE: '100' },
    processEnv: { EVENT_WEBHOOK_HANDLER: webhook.base, EVENT_WEBHOOK_HEADER: 'MyEnvValue', WEBHOOK_FROM_ENV: webhook.base },
  });
}, 60_000);
afterAll(async () => {
  await daemon?.stop();
  await webhook?.close();
  await database?.close();
});

const t1 = { schema: 'hge_tests', name: 'test_t1' };
const sql = (text: string, ...values: unknown[]) => write(database.pool, text, values);
const query = (type: string, args: unknown) => daemon.query(type, args);

/** A fixture's tables and triggers, made before each Hasura class's tests and dropped after them. */
function fixture(tables: string, triggers: Array<Record<string, unknown>>) {
  beforeAll(async () => {
    webhook.drain();
    await database.pool.query(tables);
    for (const args of triggers) await query('create_event_trigger', args);
  });
  afterAll(async () => {
    for (const { name } of triggers) await daemon.tryQuery('delete_event_trigger', { name });
    await database.pool.query('drop schema hge_tests cascade; create schema hge_tests');
  });
}

const T1 = 'create table hge_tests.test_t1 (c1 int, c2 text)';
const ALL_OPS = { insert: { columns: '*' }, update: { columns: '*' }, delete: { columns: '*' } };

describe('TestCreateEventQueryPostgresMSSQL (queries/event_triggers/basic/setup.yaml)', () => {
  fixture(T1, [{ name: 't1_all', table: t1, ...ALL_OPS, webhook: '{{EVENT_WEBHOOK_HANDLER}}' }]);

  test('test_basic', async () => {
    const initRow = { c1: 1, c2: 'hello' };
    await sql(`insert into hge_tests.test_t1 values (1, 'hello')`);
    await checkEvent(webhook, { trigger: 't1_all', table: t1, op: 'INSERT', data: { old: null, new: initRow } });
    await sql(`update hge_tests.test_t1 set c2 = 'world' where c1 = 1`);
    await checkEvent(webhook, { trigger: 't1_all', table: t1, op: 'UPDATE', data: { old: initRow, new: { c1: 1, c2: 'world' } } });
    await sql(`delete from hge_tests.test_t1 where c1 = 1`);
    await checkEvent(webhook, { trigger: 't1_all', table: t1, op: 'DELETE', data: { old: { c1: 1, c2: 'world' }, new: null } });
  });
});

describe('TestCreateEventQueryPostgres (queries/event_triggers/basic/partition_table_setup.yaml)', () => {
  const measurement = { schema: 'hge_tests', name: 'measurement' };
  fixture(
    `create table hge_tests.measurement (city_id int not null, logdate date not null, peaktemp int, unitsales int)
       partition by range (logdate);
     create table hge_tests.measurement_y2006m02 partition of hge_tests.measurement for values from ('2006-02-01') to ('2006-03-01');
     create table hge_tests.measurement_y2006m03 partition of hge_tests.measurement for values from ('2006-03-01') to ('2006-04-01')`,
    [{ name: 'measurement_all', table: measurement, ...ALL_OPS, webhook: '{{EVENT_WEBHOOK_HANDLER}}' }],
  );

  test('test_partitioned_table_basic_insert', async () => {
    await sql(`insert into hge_tests.measurement values (1, '2006-02-02', 1, 1)`);
    const initRow = { city_id: 1, logdate: '2006-02-02', peaktemp: 1, unitsales: 1 };
    await checkEvent(webhook, { trigger: 'measurement_all', table: measurement, op: 'INSERT', data: { old: null, new: initRow } });
  });
});

describe('TestEventRetryConfPostgresMSSQL (queries/event_triggers/retry_conf/setup.yaml)', () => {
  const t2 = { schema: 'hge_tests', name: 'test_t2' };
  const t3 = { schema: 'hge_tests', name: 'test_t3' };
  fixture(`${T1}; create table hge_tests.test_t2 (c1 int, c2 text); create table hge_tests.test_t3 (c1 int, c2 text)`, [
    { name: 't1_retry', table: t1, ...ALL_OPS, webhook: '{{EVENT_WEBHOOK_HANDLER}}/fail', retry_conf: { num_retries: 4, interval_sec: 1 } },
    {
      name: 't2_timeout_short',
      table: t2,
      ...ALL_OPS,
      webhook: '{{EVENT_WEBHOOK_HANDLER}}/sleep_2s',
      retry_conf: { num_retries: 2, interval_sec: 1, timeout_sec: 1 },
    },
    {
      name: 't3_timeout_long',
      table: t3,
      ...ALL_OPS,
      webhook: '{{EVENT_WEBHOOK_HANDLER}}/sleep_2s',
      retry_conf: { num_retries: 0, interval_sec: 2, timeout_sec: 10 },
    },
  ]);
  const initRow = { c1: 1, c2: 'hello' };
  // The three tests' rows are written at once, so their retries run side by side rather than one after
  // another; each test then reads its own trigger's attempts, in order.
  const attempts = (trigger: string) => webhook.receiver.requests.filter((r) => r.json?.trigger?.name === trigger);
  const attempt = async (trigger: string, n: number) => {
    for (let waited = 0; attempts(trigger).length <= n && waited < 20_000; waited += 100) await new Promise((r) => setTimeout(r, 100));
    return attempts(trigger)[n];
  };
  beforeAll(async () => {
    for (const table of ['test_t1', 'test_t2', 'test_t3']) await sql(`insert into hge_tests.${table} values (1, 'hello')`);
  });

  test('test_basic: five attempts (num_retries 4) reach /fail, current_retry 0 to 4', async () => {
    for (let retry = 0; retry <= 4; retry++) {
      const ev = await attempt('t1_retry', retry);
      expect(ev?.path).toBe('/fail');
      expect(ev?.json.event.data).toEqual({ old: null, new: initRow });
      expect(ev?.json.delivery_info.current_retry).toBe(retry);
    }
  });

  test('test_timeout_short: a webhook slower than timeout_sec is attempted num_retries + 1 times', async () => {
    for (let retry = 0; retry <= 2; retry++)
      expect((await attempt('t2_timeout_short', retry))?.json.delivery_info.current_retry).toBe(retry);
  });

  test('test_timeout_long: within timeout_sec, one attempt delivers', async () => {
    const ev = await attempt('t3_timeout_long', 0);
    expect([ev?.path, ev?.json.event.data]).toEqual(['/sleep_2s', { old: null, new: initRow }]);
  });

  test('test_queue_empty: no attempt beyond those (read from the event log: given up, or delivered)', async () => {
    const settled = async () =>
      (
        await database.pool.query(
          `select trigger_name, tries, delivered, error from event_triggers.event_log
           where trigger_name in ('t1_retry', 't2_timeout_short', 't3_timeout_long') order by trigger_name`,
        )
      ).rows;
    for (let waited = 0; (await settled()).some((r) => !r.delivered && !r.error) && waited < 20_000; waited += 200) {
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(await settled()).toEqual([
      { trigger_name: 't1_retry', tries: 5, delivered: false, error: true },
      { trigger_name: 't2_timeout_short', tries: 3, delivered: false, error: true },
      { trigger_name: 't3_timeout_long', tries: 1, delivered: true, error: false },
    ]);
    expect(attempts('t1_retry')).toHaveLength(5);
    expect(attempts('t2_timeout_short')).toHaveLength(3);
    expect(attempts('t3_timeout_long')).toHaveLength(1);
  }, 40_000);
});

describe('TestEventHeadersPostgresMSSQL (queries/event_triggers/headers/setup.yaml)', () => {
  fixture(T1, [
    {
      name: 't1_all',
      table: t1,
      ...ALL_OPS,
      webhook: '{{EVENT_WEBHOOK_HANDLER}}',
      headers: [
        { name: 'X-Header-From-Value', value: 'MyValue' },
        { name: 'X-Header-From-Env', value_from_env: 'EVENT_WEBHOOK_HEADER' },
      ],
    },
  ]);

  test('test_basic', async () => {
    await sql(`insert into hge_tests.test_t1 values (1, 'hello')`);
    const headers = { 'X-Header-From-Value': 'MyValue', 'X-Header-From-Env': 'MyEnvValue' };
    await checkEvent(webhook, { trigger: 't1_all', table: t1, op: 'INSERT', data: { old: null, new: { c1: 1, c2: 'hello' } }, headers });
  });
});

describe('TestUpdateEventQuery (queries/event_triggers/update_query/create-setup.yaml, update-setup.yaml)', () => {
  fixture('create table hge_tests.test_t1 (c1 int, c2 text, c3 json)', [
    { name: 't1_cols', table: t1, insert: { columns: '*' }, update: { columns: ['c2', 'c3'] }, webhook: '{{EVENT_WEBHOOK_HANDLER}}' },
  ]);
  beforeAll(async () => {
    // update-setup.yaml: overwrites the trigger, then exports the metadata.
    const [, exported] = await query('bulk', [
      {
        type: 'create_event_trigger',
        args: {
          name: 't1_cols',
          table: t1,
          update: { columns: ['c1', 'c3'] },
          delete: { columns: '*' },
          webhook: '{{EVENT_WEBHOOK_HANDLER}}/new',
          retry_conf: { num_retries: 5, interval_sec: 5 },
          replace: true,
        },
      },
      { type: 'export_metadata', args: {} },
    ]);
    expect(exported.sources[0].tables[0].event_triggers[0].webhook).toBe('{{EVENT_WEBHOOK_HANDLER}}/new');
  });

  test('test_update_basic', async () => {
    const at = (c1: number, c2: string, name: string) => ({ c1, c2, c3: { name } });
    await sql(`insert into hge_tests.test_t1 values (1, 'hello', '{"name": "clarke"}')`);
    await expectCaptured(database.pool, 't1_cols', 0);
    await sql(`update hge_tests.test_t1 set c2 = 'world' where c1 = 1`);
    await expectCaptured(database.pool, 't1_cols', 0);
    await sql(`update hge_tests.test_t1 set c3 = '{"name": "bellamy"}' where c1 = 1`);
    await checkEvent(webhook, {
      trigger: 't1_cols',
      table: t1,
      op: 'UPDATE',
      data: { old: at(1, 'world', 'clarke'), new: at(1, 'world', 'bellamy') },
      webhookPath: '/new',
    });
    await sql(`update hge_tests.test_t1 set c1 = 2 where c1 = 1`);
    await checkEvent(webhook, {
      trigger: 't1_cols',
      table: t1,
      op: 'UPDATE',
      data: { old: at(1, 'world', 'bellamy'), new: at(2, 'world', 'bellamy') },
      webhookPath: '/new',
    });
    await sql(`delete from hge_tests.test_t1 where c1 = 2`);
    await checkEvent(webhook, {
      trigger: 't1_cols',
      table: t1,
      op: 'DELETE',
      data: { old: at(2, 'world', 'bellamy'), new: null },
      webhookPath: '/new',
    });
  });
});

describe('TestDeleteEventQuery (queries/event_triggers/basic/setup.yaml, delete_query/setup.yaml)', () => {
  fixture(T1, [{ name: 't1_all', table: t1, ...ALL_OPS, webhook: '{{EVENT_WEBHOOK_HANDLER}}' }]);
  beforeAll(() => query('bulk', [{ type: 'delete_event_trigger', args: { name: 't1_all' } }]));

  test('test_delete_basic', async () => {
    await sql(`insert into hge_tests.test_t1 values (1, 'hello')`);
    await sql(`update hge_tests.test_t1 set c2 = 'world' where c1 = 1`);
    await sql(`delete from hge_tests.test_t1 where c1 = 1`);
    await expectCaptured(database.pool, 't1_all', 0);
    expect(webhook.untaken()).toBe(0);
  });
});

describe('TestEventSelCols (queries/event_triggers/selected_cols/setup.yaml)', () => {
  fixture(T1, [
    {
      name: 't1_cols',
      table: t1,
      insert: { columns: '*' },
      update: { columns: ['c1'] },
      delete: { columns: '*' },
      webhook: '{{EVENT_WEBHOOK_HANDLER}}',
      retry_conf: { num_retries: 10, interval_sec: 100 },
    },
  ]);

  test('test_selected_cols', async () => {
    await sql(`insert into hge_tests.test_t1 values (1, 'hello')`);
    await checkEvent(webhook, { trigger: 't1_cols', table: t1, op: 'INSERT', data: { old: null, new: { c1: 1, c2: 'hello' } } });
    await sql(`update hge_tests.test_t1 set c2 = 'world' where c1 = 1`);
    await expectCaptured(database.pool, 't1_cols', 1);
    await sql(`update hge_tests.test_t1 set c1 = 2 where c1 = 1`);
    await checkEvent(webhook, {
      trigger: 't1_cols',
      table: t1,
      op: 'UPDATE',
      data: { old: { c1: 1, c2: 'world' }, new: { c1: 2, c2: 'world' } },
    });
    await sql(`delete from hge_tests.test_t1 where c1 = 2`);
    await checkEvent(webhook, { trigger: 't1_cols', table: t1, op: 'DELETE', data: { old: { c1: 2, c2: 'world' }, new: null } });
  });

  test('test_selected_cols_dep: the listened column cannot be dropped, another can', async () => {
    // Hasura answers run_sql with dependency-error; this daemon has no run_sql: PostgreSQL refuses it,
    // the UPDATE trigger's WHEN clause depending on the column.
    await expect(database.pool.query('alter table hge_tests.test_t1 drop column c1')).rejects.toThrow(/because other objects depend on it/);
    await database.pool.query('alter table hge_tests.test_t1 drop column c2');
  });
});

describe('TestEventInsertOnly (queries/event_triggers/insert_only/setup.yaml)', () => {
  fixture(T1, [{ name: 't1_insert', table: t1, insert: { columns: '*' }, webhook: '{{EVENT_WEBHOOK_HANDLER}}' }]);

  test('test_insert_only', async () => {
    await sql(`insert into hge_tests.test_t1 values (1, 'hello')`);
    await checkEvent(webhook, { trigger: 't1_insert', table: t1, op: 'INSERT', data: { old: null, new: { c1: 1, c2: 'hello' } } });
    await sql(`update hge_tests.test_t1 set c2 = 'world' where c1 = 1`);
    await sql(`delete from hge_tests.test_t1 where c1 = 1`);
    await expectCaptured(database.pool, 't1_insert', 1);
  });
});

describe('TestEventSelPayload (queries/event_triggers/selected_payload/setup.yaml)', () => {
  fixture(T1, [
    {
      name: 't1_payload',
      table: t1,
      insert: { columns: '*', payload: '*' },
      update: { columns: '*', payload: ['c1'] },
      delete: { columns: '*', payload: ['c2'] },
      webhook: '{{EVENT_WEBHOOK_HANDLER}}',
      retry_conf: { num_retries: 10, interval_sec: 100 },
    },
  ]);

  test('test_selected_payload', async () => {
    const check = (op: string, data: { old: unknown; new: unknown }) => checkEvent(webhook, { trigger: 't1_payload', table: t1, op, data });
    await sql(`insert into hge_tests.test_t1 values (1, 'hello')`);
    await check('INSERT', { old: null, new: { c1: 1, c2: 'hello' } });
    await sql(`update hge_tests.test_t1 set c2 = 'world' where c1 = 1`);
    await check('UPDATE', { old: { c1: 1 }, new: { c1: 1 } });
    await sql(`update hge_tests.test_t1 set c1 = 2 where c1 = 1`);
    await check('UPDATE', { old: { c1: 1 }, new: { c1: 2 } });
    await sql(`delete from hge_tests.test_t1 where c1 = 2`);
    await check('DELETE', { old: { c2: 'world' }, new: null });
  });
});

describe('TestWebhookEvent (queries/event_triggers/webhook_env/setup.yaml)', () => {
  fixture(T1, [{ name: 't1_all', table: t1, ...ALL_OPS, webhook_from_env: 'WEBHOOK_FROM_ENV' }]);

  test('test_basic', async () => {
    const initRow = { c1: 1, c2: 'hello' };
    await sql(`insert into hge_tests.test_t1 values (1, 'hello')`);
    await checkEvent(webhook, { trigger: 't1_all', table: t1, op: 'INSERT', data: { old: null, new: initRow } });
    await sql(`update hge_tests.test_t1 set c2 = 'world' where c1 = 1`);
    await checkEvent(webhook, { trigger: 't1_all', table: t1, op: 'UPDATE', data: { old: initRow, new: { c1: 1, c2: 'world' } } });
    await sql(`delete from hge_tests.test_t1 where c1 = 1`);
    await checkEvent(webhook, { trigger: 't1_all', table: t1, op: 'DELETE', data: { old: { c1: 1, c2: 'world' }, new: null } });
  });
});

describe('TestEventWebhookTemplateURL (queries/event_triggers/webhook_template_url/setup.yaml)', () => {
  fixture(T1, [{ name: 't1_all', table: t1, ...ALL_OPS, webhook: '{{WEBHOOK_FROM_ENV}}/trigger' }]);

  test('test_basic', async () => {
    const initRow = { c1: 1, c2: 'hello' };
    const at = { trigger: 't1_all', table: t1, webhookPath: '/trigger' };
    await sql(`insert into hge_tests.test_t1 values (1, 'hello')`);
    await checkEvent(webhook, { ...at, op: 'INSERT', data: { old: null, new: initRow } });
    await sql(`update hge_tests.test_t1 set c2 = 'world' where c1 = 1`);
    await checkEvent(webhook, { ...at, op: 'UPDATE', data: { old: initRow, new: { c1: 1, c2: 'world' } } });
    await sql(`delete from hge_tests.test_t1 where c1 = 1`);
    await checkEvent(webhook, { ...at, op: 'DELETE', data: { old: { c1: 1, c2: 'world' }, new: null } });
  });
});

describe('TestEventSessionVariables (queries/event_triggers/basic/setup.yaml)', () => {
  fixture(T1, [{ name: 't1_all', table: t1, ...ALL_OPS, webhook: '{{EVENT_WEBHOOK_HANDLER}}' }]);

  test('test_basic', async () => {
    const initRow = { c1: 1, c2: 'hello' };
    const inserted = { 'x-hasura-role': 'admin', 'x-hasura-allowed-roles': "['admin','user']", 'x-hasura-user-id': '1' };
    await write(database.pool, `insert into hge_tests.test_t1 values (1, 'hello')`, [], inserted);
    await checkEvent(webhook, {
      trigger: 't1_all',
      table: t1,
      op: 'INSERT',
      data: { old: null, new: initRow },
      sessionVariables: inserted,
    });
    const headers = { 'x-hasura-role': 'admin', 'x-hasura-random': 'some_random_info', 'X-Random-Header': 'not_session_variable' };
    await write(database.pool, `update hge_tests.test_t1 set c2 = 'world' where c1 = 1`, [], headers);
    await checkEvent(webhook, {
      trigger: 't1_all',
      table: t1,
      op: 'UPDATE',
      data: { old: initRow, new: { c1: 1, c2: 'world' } },
      sessionVariables: { 'x-hasura-role': 'admin', 'x-hasura-random': 'some_random_info' },
    });
    await sql(`delete from hge_tests.test_t1 where c1 = 1`);
    await checkEvent(webhook, { trigger: 't1_all', table: t1, op: 'DELETE', data: { old: { c1: 1, c2: 'world' }, new: null } });
  });
});

describe('TestManualEvents (queries/event_triggers/manual_events/setup.yaml, enabled.yaml, disabled.yaml)', () => {
  fixture(T1, [
    { name: 't1_enabled', table: t1, ...ALL_OPS, enable_manual: true, webhook: '{{EVENT_WEBHOOK_HANDLER}}' },
    { name: 't1_disabled', table: t1, ...ALL_OPS, enable_manual: false, webhook: '{{EVENT_WEBHOOK_HANDLER}}' },
  ]);

  test('test_basic', async () => {
    const invoke = (name: string) =>
      daemon.tryQuery('pg_invoke_event_trigger', { name, payload: { some_key: 'some_value' } }).then((r) => r.status);
    expect(await invoke('t1_enabled')).toBe(200);
    expect(await invoke('t1_disabled')).toBe(400);
  });
});

describe('TestEventDataFormat (queries/event_triggers/data_format/setup.yaml)', () => {
  const bigint = { schema: 'hge_tests', name: 'test_bigint' };
  fixture('create table hge_tests.test_bigint (id bigint, name text)', [
    { name: 'bigint_all', table: bigint, ...ALL_OPS, webhook: '{{EVENT_WEBHOOK_HANDLER}}' },
  ]);

  test('test_bigint (with --stringify-numeric-types, as Hasura runs its suite)', async () => {
    await sql(`insert into hge_tests.test_bigint values (50755254975729665, 'hello')`);
    await checkEvent(webhook, {
      trigger: 'bigint_all',
      table: bigint,
      op: 'INSERT',
      data: { old: null, new: { id: '50755254975729665', name: 'hello' } },
    });
  });
});

describe('TestEventsAsynchronousExecutionPostgresMSSQL (queries/event_triggers/async_execution/setup.yaml)', () => {
  fixture(T1, [{ name: 't1_timeout_long', table: t1, ...ALL_OPS, webhook: '{{EVENT_WEBHOOK_HANDLER}}/block' }]);

  test('test_async_execution: the five events are delivered at once, not one after another', async () => {
    // Hasura times five calls to a 2-second webhook; here the webhook holds every call until all five
    // are in flight together, which only concurrent delivery can reach (no clock involved).
    // Counted by trigger: a request of an earlier test (a 2-second one, say) may still be open.
    const held = () => webhook.receiver.requests.filter((r) => r.json?.trigger?.name === 't1_timeout_long').length;
    await sql(`insert into hge_tests.test_t1 select n, 'hello' from generate_series(1, 5) n`);
    for (let waited = 0; held() < 5 && waited < 15_000; waited += 50) await new Promise((r) => setTimeout(r, 50));
    expect(held()).toBe(5);
    webhook.unblock();
    const c1s = [];
    for (let i = 0; i < 5; i++) c1s.push((await webhook.next()).json.event.data.new.c1);
    expect(c1s.sort()).toEqual([1, 2, 3, 4, 5]);
  });
});

describe('TestEventFloodPostgresMSSQL (queries/event_triggers/flood/setup.yaml; HTTP pool 8, fetch batch 100)', () => {
  const flood = { schema: 'hge_tests', name: 'test_flood' };
  fixture('create table hge_tests.test_flood (c1 int, c2 text)', [
    {
      name: 'flood_all',
      table: flood,
      ...ALL_OPS,
      webhook: '{{EVENT_WEBHOOK_HANDLER}}/block',
      retry_conf: { timeout_sec: 60, num_retries: 0, interval_sec: 1 },
    },
  ]);

  test('test_flood: concurrency bounded by the HTTP pool under a backlog, and every event delivered', async () => {
    // /block was released by the test above: hold every call here instead, then let them all go.
    webhook.receiver.hold();
    await sql(`insert into hge_tests.test_flood select n, 'hello' from generate_series(1, 1000) n`);
    // Counted by trigger: a request of an earlier test (a 2-second one, say) may still be open.
    const held = () => webhook.receiver.requests.filter((r) => r.json?.trigger?.name === 'flood_all').length;
    for (let waited = 0; held() < 8 && waited < 15_000; waited += 50) await new Promise((r) => setTimeout(r, 50));
    // Hasura: `blocked_count == 8`; and 200 events locked (a batch in hand and one prefetched), where this
    // daemon holds the pool plus one batch (108): docs/delivery.md says why. Not asserted here. Given time
    // to exceed its pool, the daemon does not.
    await new Promise((r) => setTimeout(r, 500));
    expect(held()).toBe(8);
    const { rows } = await database.pool.query(`select count(*)::int as n from event_triggers.event_log where locked_by is not null`);
    expect(rows[0].n).toBeGreaterThanOrEqual(8);
    webhook.receiver.release();
    const c1s: number[] = [];
    for (let i = 0; i < 1000; i++) c1s.push((await webhook.next(60_000)).json.event.data.new.c1);
    expect(c1s.sort((a, b) => a - b)).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
  }, 90_000);
});
