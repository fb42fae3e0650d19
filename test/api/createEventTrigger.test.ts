/**
 * create_event_trigger and delete_event_trigger over /v1/query and /v1/metadata, against a real
 * PostgreSQL: what they install, and every bad input refused with a clear error and no change.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { startApi, type ApiHarness } from '../support/apiHarness.js';
import { catalogSnapshot } from '../support/catalogSnapshot.js';
import { eventually, openTestDatabase, startTestDaemon } from '../support/daemonHarness.js';

let api: ApiHarness;
const WEBHOOK = 'http://127.0.0.1:9/hook';

beforeAll(async () => {
  api = await startApi({ env: { HOOK_URL: WEBHOOK, TOKEN: 't0k3n', NOT_A_URL: 'mailto:ops' } });
  await api.pool.query('create table public.users (id bigint primary key, name text, email text, meta json)');
});
afterAll(() => api?.close());

const base = (args: Record<string, unknown> = {}) => ({
  name: 'users_changes',
  table: { schema: 'public', name: 'users' },
  webhook: WEBHOOK,
  insert: { columns: '*' },
  ...args,
});

async function sqlTriggers(table = 'users') {
  const { rows } = await api.pool.query(`select tgname from pg_trigger where tgrelid = $1::regclass and not tgisinternal order by 1`, [
    table,
  ]);
  return rows.map((r) => r.tgname);
}

beforeEach(async () => {
  for (const name of ['users_changes', 'other']) await api.query('delete_event_trigger', { name });
});

describe('create_event_trigger', () => {
  test('installs one AFTER ROW trigger per operation and answers success', async () => {
    const res = await api.query('create_event_trigger', base({ update: { columns: ['name'] }, delete: { columns: '*' } }));
    expect(res.status).toBe(200);
    expect(res.text).toBe('{"message":"success"}');
    expect(await sqlTriggers()).toEqual(['pget_users_changes_DELETE', 'pget_users_changes_INSERT', 'pget_users_changes_UPDATE']);
    const { rows } = await api.pool.query('select definition from event_triggers.event_triggers where name = $1', ['users_changes']);
    expect(rows[0].definition).toMatchObject({
      name: 'users_changes',
      table: { schema: 'public', name: 'users' },
      webhook: WEBHOOK,
      retry_conf: { num_retries: 0, interval_sec: 10, timeout_sec: 60 },
      headers: [],
    });
  });

  test('accepts the spec example as written, and Hasura 2 names on /v1/metadata with a source', async () => {
    const spec = await api.post(
      '/v1/query',
      {
        type: 'create_event_trigger',
        args: {
          name: 'users_changes',
          table: { name: 'users', schema: 'public' },
          webhook: WEBHOOK,
          insert: { columns: '*', payload: ['name'] },
          update: { columns: ['name', 'email'], payload: '*' },
          delete: { columns: '*' },
          headers: [
            { name: 'X-Hasura-From-Val', value: 'myvalue' },
            { name: 'X-Hasura-From-Env', value_from_env: 'TOKEN' },
          ],
          replace: false,
        },
      },
      { 'X-Hasura-Role': 'admin' },
    );
    expect(spec.status).toBe(200);
    const v2 = await api.post('/v1/metadata', {
      type: 'pg_create_event_trigger',
      args: { source: 'default', name: 'other', table: 'users', webhook_from_env: 'HOOK_URL', delete: { columns: '*' } },
    });
    expect(v2.json).toEqual({ message: 'success' });
    const wrongSource = await api.post('/v1/metadata', {
      type: 'pg_delete_event_trigger',
      args: { source: 'elsewhere', name: 'other' },
    });
    expect(wrongSource.status).toBe(400);
    expect(wrongSource.json).toEqual({ path: '$.args', error: 'source with name "elsewhere" does not exist', code: 'not-exists' });
  });

  test('source: "default" always, and SOURCE_NAME when it is another name; nothing else', async () => {
    const database = await openTestDatabase();
    const named = await startTestDaemon(database.db.url, { env: { SOURCE_NAME: 'pg_main' } });
    try {
      await database.pool.query('create table public.users (id bigint primary key)');
      const create = (source: string) =>
        named.tryQuery('pg_create_event_trigger', {
          source,
          name: 'sourced',
          table: 'users',
          webhook: WEBHOOK,
          insert: { columns: '*' },
          replace: source !== 'default',
        });
      expect((await create('default')).json).toEqual({ message: 'success' });
      expect((await create('pg_main')).json).toEqual({ message: 'success' });
      const before = await catalogSnapshot(database.pool);
      const other = await create('elsewhere');
      expect(other.status).toBe(400);
      expect(other.json).toEqual({ path: '$.args', error: 'source with name "elsewhere" does not exist', code: 'not-exists' });
      expect(await catalogSnapshot(database.pool)).toEqual(before);
      expect(await named.query('pg_get_event_logs', { source: 'pg_main', name: 'sourced' })).toEqual([]);
    } finally {
      await named.stop();
      await database.close();
    }
  });

  test('flow_control and the backoff fields are stored as given, and absent unless given', async () => {
    const given = {
      retry_conf: { num_retries: 3, interval_sec: 5, timeout_sec: 10, backoff: 'exponential', max_interval_sec: 300 },
      flow_control: { max_in_flight: 4, max_events_per_second: 2.5 },
    };
    expect((await api.query('create_event_trigger', base(given))).status).toBe(200);
    const stored = async () =>
      (await api.pool.query('select definition from event_triggers.event_triggers where name = $1', ['users_changes'])).rows[0].definition;
    expect(await stored()).toMatchObject(given);
    expect((await api.query('create_event_trigger', base({ replace: true, retry_conf: { num_retries: 1 } }))).status).toBe(200);
    const plain = await stored();
    expect(plain.retry_conf).toEqual({ num_retries: 1, interval_sec: 10, timeout_sec: 60 });
    expect(plain).not.toHaveProperty('flow_control');
  });

  test('null for an optional argument means absent, as in Hasura; null for a required one is refused', async () => {
    const res = await api.query('create_event_trigger', {
      ...base({ insert: { columns: '*', payload: null } }),
      webhook_from_env: null,
      update: null,
      delete: null,
      headers: null,
      retry_conf: { num_retries: null, interval_sec: 3, timeout_sec: null },
      replace: null,
      enable_manual: null,
      source: null,
      request_transform: null,
    });
    expect(res.json).toEqual({ message: 'success' });
    expect(await sqlTriggers()).toEqual(['pget_users_changes_INSERT']);
    const { rows } = await api.pool.query('select definition from event_triggers.event_triggers where name = $1', ['users_changes']);
    expect(rows[0].definition).toMatchObject({ headers: [], retry_conf: { num_retries: 0, interval_sec: 3, timeout_sec: 60 } });
    const before = await catalogSnapshot(api.pool);
    const nameNull = await api.query('create_event_trigger', base({ name: null, replace: true }));
    expect(nameNull.status).toBe(400);
    expect(nameNull.json).toMatchObject({ path: '$.args.name', code: 'parse-failed' });
    const columnsNull = await api.query('create_event_trigger', base({ update: { columns: null }, replace: true }));
    expect(columnsNull.json).toMatchObject({ path: '$.args.update.columns', code: 'parse-failed' });
    expect(await catalogSnapshot(api.pool)).toEqual(before);
  });

  test('replace: true swaps the definition; dropped operations stop firing', async () => {
    await api.query('create_event_trigger', base({ update: { columns: '*' } }));
    const replaced = await api.query('create_event_trigger', base({ insert: undefined, delete: { columns: '*' }, replace: true }));
    expect(replaced.status).toBe(200);
    expect(await sqlTriggers()).toEqual(['pget_users_changes_DELETE']);
    await api.pool.query(`insert into users values (1, 'a', 'a@x', null)`);
    await api.pool.query(`delete from users`);
    const { rows } = await api.pool.query(
      `select payload->>'op' as op from event_triggers.event_log where trigger_name = 'users_changes' order by created_at`,
    );
    expect(rows.map((r) => r.op)).toEqual(['DELETE']);
    const ids = await api.pool.query('select count(distinct id)::int as n from event_triggers.event_triggers');
    expect(ids.rows[0].n).toBe(1);
  });

  test('replace: true swaps the definition atomically: a writer inserting throughout gets one event per row, under the old or the new definition', async () => {
    const OLD = { columns: '*', payload: ['id'] };
    const NEW = { columns: '*', payload: ['id', 'name'] };
    const REPLACES = 10;
    await api.query('create_event_trigger', base({ insert: OLD }));
    // One row per transaction, on a connection of its own, until every replace is done.
    const writer = await api.pool.connect();
    let inserted = 0;
    let stop = false;
    const writing = (async () => {
      try {
        while (!stop) {
          await writer.query(`insert into users (id, name) values ($1, 'n')`, [100_000 + inserted]);
          inserted += 1;
        }
      } finally {
        writer.release();
      }
    })();
    try {
      for (let i = 1; i <= REPLACES; i++) {
        const def = i % 2 ? NEW : OLD;
        const answer = await api.query('create_event_trigger', base({ insert: def, replace: true }));
        expect(answer.json, `replace ${i}`).toEqual({ message: 'success' });
        // Rows go in between every two replaces (and, blocked on the table's lock, during them); the
        // next replace waits until a row inserted after this one has an event under its definition.
        const after = 100_000 + inserted;
        await eventually(
          async () => {
            const { rows } = await api.pool.query(
              `select count(*)::int as n from event_triggers.event_log where trigger_name = 'users_changes'
             and (payload->'data'->'new'->>'id')::int >= $1 and (select array_agg(k order by k) from jsonb_object_keys(payload->'data'->'new') k) = $2::text[]`,
              [after, [...def.payload].sort()],
            );
            return rows[0].n > 0;
          },
          10_000,
          `a row captured under the definition of replace ${i}`,
        );
      }
    } finally {
      stop = true;
      await writing;
    }
    const { rows } = await api.pool.query(
      `select (payload->'data'->'new'->>'id')::int as id, payload->'data'->'new' as new from event_triggers.event_log
       where trigger_name = 'users_changes' and payload->>'op' = 'INSERT'`,
    );
    // Every row inserted has exactly one event: none lost while the triggers were swapped, none doubled.
    const ids = rows.map((r) => r.id).sort((a, b) => a - b);
    expect(ids).toEqual(Array.from({ length: inserted }, (_, i) => 100_000 + i));
    // Each made under one definition or the other, whole: never a mix.
    for (const r of rows) expect([['id'], ['id', 'name']], `row ${r.id}`).toContainEqual(Object.keys(r.new).sort());
    await api.query('delete_event_trigger', { name: 'users_changes' });
    await api.pool.query('delete from users where id >= 100000');
  });

  test('the trigger id survives a replace', async () => {
    await api.query('create_event_trigger', base());
    const before = await api.pool.query(`select id from event_triggers.event_triggers where name = 'users_changes'`);
    await api.query('create_event_trigger', base({ replace: true, delete: { columns: '*' } }));
    const after = await api.pool.query(`select id from event_triggers.event_triggers where name = 'users_changes'`);
    expect(after.rows[0].id).toBe(before.rows[0].id);
  });

  test('replace: true on a trigger that does not exist is not-exists, as in Hasura (not an upsert)', async () => {
    const before = await catalogSnapshot(api.pool);
    const res = await api.query('create_event_trigger', base({ replace: true }));
    expect(res.status).toBe(400);
    expect(res.json).toEqual({ path: '$.args', error: 'event trigger "users_changes" does not exist', code: 'not-exists' });
    expect(await catalogSnapshot(api.pool)).toEqual(before);
    expect(await sqlTriggers()).toEqual([]);
  });

  test('replace cannot move a trigger to another table: not-supported, nothing changed', async () => {
    await api.pool.query('create table if not exists public.accounts (id bigint primary key, name text)');
    await api.query('create_event_trigger', base());
    const before = await catalogSnapshot(api.pool);
    const res = await api.query('create_event_trigger', base({ table: 'accounts', replace: true }));
    expect(res.status).toBe(400);
    expect(res.json).toEqual({ path: '$.args', error: 'cannot replace table or schema for trigger', code: 'not-supported' });
    expect(await catalogSnapshot(api.pool)).toEqual(before);
    expect(await sqlTriggers('accounts')).toEqual([]);
  });

  test('replace after the table was renamed names it by its new name', async () => {
    await api.pool.query('create table public.renamed_src (id bigint primary key)');
    await api.query('create_event_trigger', base({ table: 'renamed_src' }));
    await api.pool.query('alter table public.renamed_src rename to renamed_dst');
    try {
      const byNewName = await api.query('create_event_trigger', base({ table: 'renamed_dst', update: { columns: '*' }, replace: true }));
      expect(byNewName.json).toEqual({ message: 'success' });
      expect(await sqlTriggers('renamed_dst')).toEqual(['pget_users_changes_INSERT', 'pget_users_changes_UPDATE']);
      const byOldName = await api.query('create_event_trigger', base({ table: 'renamed_src', replace: true }));
      expect(byOldName.json).toMatchObject({ code: 'not-exists', error: 'table "public.renamed_src" does not exist' });
    } finally {
      await api.query('delete_event_trigger', { name: 'users_changes' });
      await api.pool.query('drop table public.renamed_dst');
    }
  });

  test('names of exactly 42 characters work; trigger_on_replication fires the trigger always', async () => {
    const name = 'a'.repeat(42);
    expect((await api.query('create_event_trigger', base({ name, trigger_on_replication: true }))).status).toBe(200);
    const { rows } = await api.pool.query(`select tgenabled from pg_trigger where tgname = $1`, [`pget_${name}_INSERT`]);
    expect(rows[0].tgenabled).toBe('A');
    await api.query('delete_event_trigger', { name });
  });

  // Each bad input: HTTP 400, Hasura's error shape with a useful path, and nothing changed.
  const refusals: Array<[string, unknown, { code: string; path: string; error?: RegExp }]> = [
    [
      'an existing name without replace',
      base({ name: 'other' }),
      { code: 'already-exists', path: '$.args', error: /^Event trigger with name "other" already exists$/ },
    ],
    [
      'an unknown table',
      base({ table: { schema: 'public', name: 'nope' } }),
      { code: 'not-exists', path: '$.args', error: /table "public.nope" does not exist/ },
    ],
    ['an unknown schema', base({ table: { schema: 'nowhere', name: 'users' } }), { code: 'not-exists', path: '$.args' }],
    [
      'an unknown column to listen to',
      base({ update: { columns: ['name', 'nope'] } }),
      { code: 'not-exists', path: '$.args', error: /^column "nope" \(update.columns\[1\]\) does not exist in table "public.users"$/ },
    ],
    [
      'an unknown payload column',
      base({ insert: { columns: '*', payload: ['nope'] } }),
      { code: 'not-exists', path: '$.args', error: /insert.payload\[0\]/ },
    ],
    ['a column name in the wrong case', base({ update: { columns: ['Name'] } }), { code: 'not-exists', path: '$.args' }],
    [
      'an empty column list',
      base({ update: { columns: [] } }),
      { code: 'parse-failed', path: '$.args.update.columns', error: /must not be empty/ },
    ],
    [
      'columns missing from an operation',
      base({ update: {} }),
      { code: 'parse-failed', path: '$.args.update', error: /key "columns" not found/ },
    ],
    ['a name with a space', base({ name: 'bad name' }), { code: 'parse-failed', path: '$.args.name' }],
    ['a name starting with a digit', base({ name: '1abc' }), { code: 'parse-failed', path: '$.args.name' }],
    ['a name of 43 characters', base({ name: 'a'.repeat(43) }), { code: 'parse-failed', path: '$.args.name', error: /at most 42/ }],
    [
      'both webhook and webhook_from_env',
      base({ webhook_from_env: 'HOOK_URL' }),
      { code: 'parse-failed', path: '$.args', error: /exactly one of "webhook" and "webhook_from_env"/ },
    ],
    ['neither webhook nor webhook_from_env', base({ webhook: undefined }), { code: 'parse-failed', path: '$.args' }],
    [
      'a webhook_from_env variable that is not set',
      base({ webhook: undefined, webhook_from_env: 'NOT_SET' }),
      { code: 'invalid-configuration', path: '$.args', error: /"NOT_SET"/ },
    ],
    [
      'a webhook_from_env variable holding no http(s) URL (refused at boot too)',
      base({ webhook: undefined, webhook_from_env: 'NOT_A_URL' }),
      {
        code: 'invalid-configuration',
        path: '$.args',
        error: /^environment variable "NOT_A_URL" for the webhook of event trigger "users_changes" is not an absolute http\(s\) URL$/,
      },
    ],
    [
      'a header value_from_env that is not set',
      base({ headers: [{ name: 'X-A', value_from_env: 'NOT_SET' }] }),
      { code: 'invalid-configuration', path: '$.args', error: /"NOT_SET" for header "X-A"/ },
    ],
    [
      'a header with both value and value_from_env',
      base({ headers: [{ name: 'X-A', value: 'a', value_from_env: 'TOKEN' }] }),
      { code: 'parse-failed', path: '$.args.headers[0]' },
    ],
    [
      'a header name that is not a token',
      base({ headers: [{ name: 'X A', value: 'a' }] }),
      { code: 'parse-failed', path: '$.args.headers[0].name' },
    ],
    [
      'a header value with a newline',
      base({ headers: [{ name: 'X-A', value: 'a\r\nX-Injected: 1' }] }),
      { code: 'parse-failed', path: '$.args.headers[0].value' },
    ],
    ['a webhook that is not an http URL', base({ webhook: 'ftp://example/hook' }), { code: 'parse-failed', path: '$.args.webhook' }],
    ['a negative num_retries', base({ retry_conf: { num_retries: -1 } }), { code: 'parse-failed', path: '$.args.retry_conf.num_retries' }],
    [
      'a fractional interval_sec',
      base({ retry_conf: { interval_sec: 1.5 } }),
      { code: 'parse-failed', path: '$.args.retry_conf.interval_sec' },
    ],
    ['timeout_sec 0', base({ retry_conf: { timeout_sec: 0 } }), { code: 'parse-failed', path: '$.args.retry_conf.timeout_sec' }],
    [
      'num_retries as a string',
      base({ retry_conf: { num_retries: '3' } }),
      { code: 'parse-failed', path: '$.args.retry_conf.num_retries', error: /expected a number, got a string/ },
    ],
    [
      'an unknown backoff',
      base({ retry_conf: { backoff: 'linear' } }),
      { code: 'parse-failed', path: '$.args.retry_conf.backoff', error: /expected one of "fixed", "exponential"/ },
    ],
    [
      'max_interval_sec under interval_sec',
      base({ retry_conf: { interval_sec: 60, max_interval_sec: 30, backoff: 'exponential' } }),
      { code: 'parse-failed', path: '$.args.retry_conf.max_interval_sec', error: /at least interval_sec \(60\)/ },
    ],
    ['an empty flow_control', base({ flow_control: {} }), { code: 'parse-failed', path: '$.args.flow_control', error: /max_in_flight/ }],
    [
      'max_in_flight 0',
      base({ flow_control: { max_in_flight: 0 } }),
      { code: 'parse-failed', path: '$.args.flow_control.max_in_flight', error: /at least 1/ },
    ],
    [
      'a fractional max_in_flight',
      base({ flow_control: { max_in_flight: 2.5 } }),
      { code: 'parse-failed', path: '$.args.flow_control.max_in_flight', error: /whole number/ },
    ],
    [
      'a negative max_events_per_second',
      base({ flow_control: { max_events_per_second: -1 } }),
      { code: 'parse-failed', path: '$.args.flow_control.max_events_per_second' },
    ],
    [
      'an unknown key in flow_control',
      base({ flow_control: { max_per_second: 1 } }),
      { code: 'parse-failed', path: '$.args.flow_control', error: /unexpected key "max_per_second"/ },
    ],
    ['an unknown key', base({ webhookk: WEBHOOK }), { code: 'parse-failed', path: '$.args', error: /unexpected key "webhookk"/ }],
    ['an unknown key in an operation', base({ insert: { columns: '*', colums: '*' } }), { code: 'parse-failed', path: '$.args.insert' }],
    [
      'a key Hasura has and we do not',
      base({ response_transform: { body: 'x' } }),
      { code: 'not-supported', path: '$.args.response_transform' },
    ],
    [
      'the catalog schema as table',
      base({ table: { schema: 'event_triggers', name: 'event_log' } }),
      { code: 'not-supported', path: '$.args' },
    ],
    ['a view', base({ table: 'users_view' }), { code: 'not-supported', path: '$.args' }],
    [
      'no operation and enable_manual false',
      base({ insert: undefined, enable_manual: false }),
      { code: 'parse-failed', path: '$.args', error: /could never fire/ },
    ],
    ['args that are not an object', 'users', { code: 'parse-failed', path: '$.args' }],
  ];

  test.each(refusals)('refuses %s', async (_what, args, expected) => {
    await api.pool.query('create or replace view users_view as select * from users');
    await api.query('create_event_trigger', base({ name: 'other' }));
    const before = await catalogSnapshot(api.pool);
    const res = await api.query('create_event_trigger', args);
    expect(res.status).toBe(400);
    expect(Object.keys(res.json).sort()).toEqual(['code', 'error', 'path']);
    expect(res.json.code).toBe(expected.code);
    expect(res.json.path).toBe(expected.path);
    if (expected.error) expect(res.json.error).toMatch(expected.error);
    expect(await catalogSnapshot(api.pool)).toEqual(before);
  });
});

describe('delete_event_trigger', () => {
  test('drops the SQL triggers and functions with the definition, and archives the events', async () => {
    await api.query('create_event_trigger', base({ update: { columns: '*' } }));
    await api.pool.query(`insert into users values (10, 'a', 'a@x', null)`);
    expect((await api.query('delete_event_trigger', { name: 'users_changes' })).json).toEqual({ message: 'success' });
    expect(await sqlTriggers()).toEqual([]);
    const fns = await api.pool.query(`select count(*)::int as n from pg_proc where proname like 'pget_users_changes%'`);
    expect(fns.rows[0].n).toBe(0);
    const events = await api.pool.query(
      `select bool_and(archived) as archived from event_triggers.event_log where trigger_name = 'users_changes'`,
    );
    expect(events.rows[0].archived).toBe(true);
    await api.pool.query(`insert into users values (11, 'b', 'b@x', null)`);
    const after = await api.pool.query(`select count(*)::int as n from event_triggers.event_log where not archived`);
    expect(after.rows[0].n).toBe(0);
    await api.pool.query('delete from users');
  });

  test('an unknown trigger is not-exists and changes nothing', async () => {
    const before = await catalogSnapshot(api.pool);
    const res = await api.query('delete_event_trigger', { name: 'never_created' });
    expect(res.status).toBe(400);
    expect(res.json).toEqual({ path: '$.args', error: 'event trigger "never_created" does not exist', code: 'not-exists' });
    expect(await catalogSnapshot(api.pool)).toEqual(before);
  });
});
