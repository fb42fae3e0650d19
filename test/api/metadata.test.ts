/**
 * export_metadata and replace_metadata against a real PostgreSQL, over /v1/metadata and /rpc: the
 * document Hasura's tools read and write, round trips, one transaction for a replace (all of it or
 * nothing), inconsistencies, warnings for what is not served, resource_version, dry runs.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { startApi, type ApiHarness } from '../support/apiHarness.js';
import { catalogSnapshot } from '../support/catalogSnapshot.js';

let api: ApiHarness;
const WEBHOOK = 'http://127.0.0.1:9/hook';

beforeAll(async () => {
  api = await startApi({ env: { HOOK_URL: WEBHOOK } });
  await api.pool.query('create table public.users (id bigint primary key, name text)');
  await api.pool.query('create schema app; create table app.orders (id int primary key, total numeric)');
});
afterAll(() => api?.close());

const metadata = (body: unknown) => api.post('/v1/metadata', body);
const exported = async () => (await metadata({ type: 'export_metadata', args: {} })).json;
const replace = (doc: unknown, extra: Record<string, unknown> = {}) =>
  metadata({ type: 'replace_metadata', version: 2, args: { metadata: doc, ...extra } });

const conf = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  definition: { insert: { columns: '*' } },
  retry_conf: { num_retries: 0, interval_sec: 10, timeout_sec: 60 },
  webhook: WEBHOOK,
  ...extra,
});
const doc = (tables: unknown[]) => ({ version: 3, sources: [{ name: 'default', kind: 'postgres', tables }] });

async function definitions() {
  const { rows } = await api.pool.query('select name, definition from event_triggers.event_triggers order by name');
  return Object.fromEntries(rows.map((r) => [r.name, r.definition]));
}

async function sqlTriggers() {
  const { rows } = await api.pool.query(
    `select tgrelid::regclass::text || ':' || tgname as t from pg_trigger where tgname like 'pget\\_%' and not tgisinternal order by 1`,
  );
  return rows.map((r) => r.t);
}

beforeEach(async () => {
  const res = await replace(doc([]));
  expect(res.status, res.text).toBe(200);
});

describe('export_metadata', () => {
  test("answers Hasura's document (version 3), each trigger as its EventTriggerConf; version 2 adds resource_version", async () => {
    await api.query('create_event_trigger', {
      name: 'users_all',
      table: 'users',
      webhook_from_env: 'HOOK_URL',
      insert: { columns: '*' },
      update: { columns: ['name'], payload: ['id', 'name'] },
      headers: [{ name: 'X-From-Env', value_from_env: 'HOOK_URL' }],
      retry_conf: { num_retries: 2 },
      enable_manual: true,
    });
    await api.query('create_event_trigger', {
      name: 'orders_insert',
      table: { schema: 'app', name: 'orders' },
      webhook: WEBHOOK,
      insert: { columns: '*' },
    });
    expect(await exported()).toEqual({
      version: 3,
      sources: [
        {
          name: 'default',
          kind: 'postgres',
          tables: [
            { table: { name: 'orders', schema: 'app' }, event_triggers: [conf('orders_insert')] },
            {
              table: { name: 'users', schema: 'public' },
              event_triggers: [
                {
                  name: 'users_all',
                  definition: { enable_manual: true, insert: { columns: '*' }, update: { columns: ['name'], payload: ['id', 'name'] } },
                  retry_conf: { num_retries: 2, interval_sec: 10, timeout_sec: 60 },
                  webhook_from_env: 'HOOK_URL',
                  headers: [{ name: 'X-From-Env', value_from_env: 'HOOK_URL' }],
                },
              ],
            },
          ],
          configuration: { connection_info: { database_url: { from_env: 'HASURA_GRAPHQL_DATABASE_URL' } } },
        },
      ],
    });
    const v2 = await metadata({ type: 'export_metadata', version: 2, args: {} });
    expect(v2.json).toEqual({ resource_version: expect.any(Number), metadata: await exported() });
  });

  test('a table renamed since is exported by its name now', async () => {
    await api.pool.query('create table renamed_from (id int primary key)');
    await api.query('create_event_trigger', { name: 'follows', table: 'renamed_from', webhook: WEBHOOK, insert: { columns: '*' } });
    await api.pool.query('alter table renamed_from rename to renamed_to');
    const tables = (await exported()).sources[0].tables.map((t: any) => t.table.name);
    expect(tables).toEqual(['renamed_to']);
    // And that document applies as it is: nothing to change.
    expect((await replace(await exported())).json.changes).toMatchObject({ unchanged: ['follows'], replaced: [], created: [] });
    await api.pool.query('drop table renamed_to');
  });

  test('every field of a stored definition is exported, those added by later versions too', async () => {
    await api.query('create_event_trigger', {
      name: 'users_all',
      table: 'users',
      webhook: WEBHOOK,
      insert: { columns: '*' },
      stringify_numeric_types: true,
    });
    // A field this version does not know, as a later version could store it.
    await api.pool.query(
      `update event_triggers.event_triggers set definition = definition || '{"some_later_field": {"a": [1, 2]}}' where name = 'users_all'`,
    );
    const [trigger] = (await exported()).sources[0].tables[0].event_triggers;
    expect(trigger).toMatchObject({ stringify_numeric_types: true, some_later_field: { a: [1, 2] } });
  });
});

describe('replace_metadata', () => {
  test('creates, replaces and deletes triggers to match the document; what matches already is left alone', async () => {
    await replace(doc([{ table: { schema: 'public', name: 'users' }, event_triggers: [conf('keep'), conf('change'), conf('drop')] }]));
    const keptBefore = await api.pool.query(`select oid, prosrc from pg_proc where proname = 'pget_keep_INSERT'`);
    const res = await replace(
      doc([
        {
          table: { schema: 'public', name: 'users' },
          event_triggers: [
            conf('keep'),
            conf('change', { definition: { delete: { columns: '*' } }, retry_conf: { num_retries: 4, interval_sec: 1 } }),
          ],
        },
        { table: { schema: 'app', name: 'orders' }, event_triggers: [conf('new', { webhook: '{{HOOK_URL}}/orders' })] },
      ]),
    );
    expect(res.status, res.text).toBe(200);
    expect(res.json).toEqual({
      is_consistent: true,
      inconsistent_objects: [],
      changes: { created: ['new'], replaced: ['change'], deleted: ['drop'], unchanged: ['keep'] },
    });
    expect(await sqlTriggers()).toEqual(['app.orders:pget_new_INSERT', 'users:pget_change_DELETE', 'users:pget_keep_INSERT']);
    const defs = await definitions();
    expect(Object.keys(defs)).toEqual(['change', 'keep', 'new']);
    expect(defs.change).toMatchObject({ retry_conf: { num_retries: 4, interval_sec: 1, timeout_sec: 60 } });
    expect(defs.new).toMatchObject({ table: { schema: 'app', name: 'orders' }, webhook: '{{HOOK_URL}}/orders' });
    // The unchanged trigger's capture was not touched (no lock taken on its table for nothing).
    expect((await api.pool.query(`select oid, prosrc from pg_proc where proname = 'pget_keep_INSERT'`)).rows).toEqual(keptBefore.rows);
  });

  test('export then replace with the export changes nothing: the round trip is exact', async () => {
    await api.query('create_event_trigger', {
      name: 'full',
      table: 'users',
      webhook: '{{HOOK_URL}}',
      update: { columns: ['name'], payload: ['id'] },
      delete: { columns: '*' },
      headers: [{ name: 'X-Val', value: 'Bearer {{HOOK_URL}}' }],
      retry_conf: { num_retries: 5, interval_sec: 2, timeout_sec: 9 },
      enable_manual: false,
      stringify_numeric_types: true,
    });
    const before = await catalogSnapshot(api.pool);
    const res = await replace(await exported());
    expect(res.json.changes).toEqual({ created: [], replaced: [], deleted: [], unchanged: ['full'] });
    expect(await catalogSnapshot(api.pool)).toEqual(before);
  });

  test('a signing secret never leaves with an export; applied again, the placeholder keeps the stored secret', async () => {
    const secret = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
    expect(
      (
        await replace(
          doc([{ table: { schema: 'public', name: 'users' }, event_triggers: [conf('signed', { signing_secret: { value: secret } })] }]),
        )
      ).status,
    ).toBe(200);
    const document = await exported();
    expect(JSON.stringify(document)).not.toContain(secret);
    expect(document.sources[0].tables[0].event_triggers[0].signing_secret).toEqual({ value: '<redacted>' });
    const before = await catalogSnapshot(api.pool);
    expect((await replace(document)).json.changes).toMatchObject({ unchanged: ['signed'] });
    expect(await catalogSnapshot(api.pool)).toEqual(before);
    expect((await definitions()).signed.signing_secret).toEqual({ value: secret });
    // On a trigger that has no secret, the placeholder keeps nothing: refused, at its place.
    const renamed = JSON.parse(JSON.stringify(document).replace('"signed"', '"fresh"'));
    const refused = await replace(renamed);
    expect(refused.status).toBe(400);
    expect(refused.json).toMatchObject({
      code: 'parse-failed',
      path: '$.args.metadata.sources[0].tables[0].event_triggers[0].signing_secret.value',
    });
    expect(await catalogSnapshot(api.pool)).toEqual(before);
  });

  test('a trigger that moves to another table is replaced there, its old capture dropped', async () => {
    await replace(doc([{ table: 'users', event_triggers: [conf('mover')] }]));
    const res = await replace(doc([{ table: { schema: 'app', name: 'orders' }, event_triggers: [conf('mover')] }]));
    expect(res.json.changes).toMatchObject({ replaced: ['mover'] });
    expect(await sqlTriggers()).toEqual(['app.orders:pget_mover_INSERT']);
  });

  test('all or nothing: one trigger that cannot be applied refuses the whole document, naming it, and changes nothing', async () => {
    await replace(doc([{ table: 'users', event_triggers: [conf('existing')] }]));
    const before = await catalogSnapshot(api.pool);
    const res = await replace(
      doc([
        { table: 'users', event_triggers: [conf('fine'), conf('bad_column', { definition: { update: { columns: ['nope'] } } })] },
        { table: 'nope', event_triggers: [conf('on_missing_table')] },
      ]),
    );
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ path: '$.args', error: 'cannot continue due to inconsistent metadata', code: 'unexpected' });
    expect(res.json.internal).toEqual([
      {
        type: 'event_trigger',
        name: 'event_trigger bad_column on table public.users',
        reason: expect.stringMatching(/^Inconsistent object: column "nope" \(update.columns\[0\]\) does not exist/),
        definition: conf('bad_column', { definition: { update: { columns: ['nope'] } } }),
      },
      expect.objectContaining({
        name: 'event_trigger on_missing_table on table public.nope',
        reason: expect.stringMatching(/does not exist/),
      }),
    ]);
    expect(await catalogSnapshot(api.pool)).toEqual(before);
  });

  test('allow_inconsistent_metadata: the rest is applied, what cannot be is listed (and a trigger that was there is kept)', async () => {
    await replace(doc([{ table: 'users', event_triggers: [conf('was_fine')] }]));
    const res = await replace(
      doc([
        { table: 'users', event_triggers: [conf('fine'), conf('was_fine', { definition: { update: { columns: ['nope'] } } })] },
        { table: 'nope', event_triggers: [conf('on_missing_table')] },
      ]),
      { allow_inconsistent_metadata: true },
    );
    expect(res.status, res.text).toBe(200);
    expect(res.json.is_consistent).toBe(false);
    expect(res.json.inconsistent_objects.map((o: any) => [o.name, o.reason.endsWith('(the trigger is kept as it was)')])).toEqual([
      ['event_trigger was_fine on table public.users', true],
      ['event_trigger on_missing_table on table public.nope', false],
    ]);
    expect(res.json.changes).toMatchObject({ created: ['fine'], replaced: [], deleted: [] });
    expect(Object.keys(await definitions())).toEqual(['fine', 'was_fine']);
    expect((await definitions()).was_fine.update).toBeUndefined();
  });

  test('a malformed trigger is refused at its place in the document, whatever allow_inconsistent_metadata says', async () => {
    const before = await catalogSnapshot(api.pool);
    const cases: Array<[unknown, string, RegExp]> = [
      [
        conf('t', { retry_conf: { num_retries: -1 } }),
        '$.args.metadata.sources[0].tables[0].event_triggers[0].retry_conf.num_retries',
        /negative/,
      ],
      [
        conf('t', { definition: { update: { columns: [] } } }),
        '$.args.metadata.sources[0].tables[0].event_triggers[0]',
        /^found empty column/,
      ],
      [conf('t', { definition: { insert: {} } }), '$.args.metadata.sources[0].tables[0].event_triggers[0].definition.insert', /"columns"/],
      [conf("bad'name"), '$.args.metadata.sources[0].tables[0].event_triggers[0]', /^only alphanumeric/],
      [
        conf('t', { response_transform: { body: {} } }),
        '$.args.metadata.sources[0].tables[0].event_triggers[0].response_transform',
        /not supported/,
      ],
    ];
    for (const [trigger, path, message] of cases) {
      const res = await replace(doc([{ table: 'users', event_triggers: [trigger] }]), { allow_inconsistent_metadata: true });
      expect(res.status, res.text).toBe(400);
      expect(res.json.path).toBe(path);
      expect(res.json.error).toMatch(message);
    }
    expect(await catalogSnapshot(api.pool)).toEqual(before);
  });

  test('what is not served is ignored, with warnings in the answer; allow_warnings: false refuses instead', async () => {
    const withExtras = {
      ...doc([
        { table: 'users', select_permissions: [{ role: 'user', permission: { columns: '*', filter: {} } }], event_triggers: [conf('t')] },
      ]),
      actions: [{ name: 'login', definition: { handler: 'http://x' } }],
    };
    const res = await replace(withExtras);
    expect(res.status, res.text).toBe(200);
    expect(res.json.warnings).toEqual([
      expect.objectContaining({ type: 'metadata', message: '"actions": not served by pg-event-triggers, ignored' }),
      expect.objectContaining({
        type: 'table',
        name: 'public.users',
        message: '"select_permissions": not served by pg-event-triggers, ignored',
      }),
    ]);
    expect(Object.keys(await definitions())).toEqual(['t']);
    await replace(doc([]));
    const before = await catalogSnapshot(api.pool);
    const strict = await replace(withExtras, { allow_warnings: false });
    expect(strict.status).toBe(400);
    expect(strict.json).toMatchObject({ code: 'metadata-warnings', error: 'failed due to metadata warnings', path: '$.args' });
    expect(strict.json.internal).toHaveLength(2);
    expect(await catalogSnapshot(api.pool)).toEqual(before);
  });

  test('the request of version 1 (the document as args, format 1 or 2 too) answers {"message": "success"}', async () => {
    const v1 = await metadata({
      type: 'replace_metadata',
      args: { version: 2, tables: [{ table: 'users', event_triggers: [conf('old_format')] }] },
    });
    expect(v1.json).toEqual({ message: 'success', changes: { created: ['old_format'], replaced: [], deleted: [], unchanged: [] } });
    expect(Object.keys(await definitions())).toEqual(['old_format']);
    const inconsistent = await metadata({ type: 'replace_metadata', args: { tables: [{ table: 'nope', event_triggers: [conf('x')] }] } });
    expect(inconsistent.json).toMatchObject({ code: 'unexpected', error: 'cannot continue due to inconsistent metadata' });
  });

  test('resource_version: a replace made against an older export is refused with 409', async () => {
    const { resource_version: version } = (await metadata({ type: 'export_metadata', version: 2, args: {} })).json;
    const first = await metadata({
      type: 'replace_metadata',
      version: 2,
      resource_version: version,
      args: { metadata: doc([{ table: 'users', event_triggers: [conf('a')] }]) },
    });
    expect(first.status, first.text).toBe(200);
    const stale = await metadata({ type: 'replace_metadata', version: 2, resource_version: version, args: { metadata: doc([]) } });
    expect(stale.status).toBe(409);
    expect(stale.json).toEqual({
      path: '$',
      error: `metadata resource version referenced (${version}) did not match current version`,
      code: 'conflict',
    });
    expect(Object.keys(await definitions())).toEqual(['a']);
  });

  test('dry_run: answers what would change, and changes nothing', async () => {
    await replace(doc([{ table: 'users', event_triggers: [conf('stays'), conf('goes')] }]));
    const before = await catalogSnapshot(api.pool);
    const versionBefore = (await metadata({ type: 'export_metadata', version: 2, args: {} })).json.resource_version;
    const res = await replace(doc([{ table: 'users', event_triggers: [conf('stays'), conf('comes')] }]), { dry_run: true });
    expect(res.json).toMatchObject({ dry_run: true, changes: { created: ['comes'], deleted: ['goes'], unchanged: ['stays'] } });
    expect(await catalogSnapshot(api.pool)).toEqual(before);
    expect((await metadata({ type: 'export_metadata', version: 2, args: {} })).json.resource_version).toBe(versionBefore);
  });

  test('a document whose sources this daemon does not serve is refused, not taken for "no triggers"', async () => {
    await replace(doc([{ table: 'users', event_triggers: [conf('mine')] }]));
    const res = await replace({ version: 3, sources: [{ name: 'main', tables: [] }] });
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ code: 'not-exists', path: '$.args.metadata.sources' });
    expect(Object.keys(await definitions())).toEqual(['mine']);
  });

  test('both operations over JSON-RPC', async () => {
    const rpc = (method: string, params: unknown) => api.post('/rpc', { jsonrpc: '2.0', id: 1, method, params });
    const applied = await rpc('replace_metadata', { metadata: doc([{ table: 'users', event_triggers: [conf('via_rpc')] }]) });
    expect(applied.json.result).toMatchObject({ is_consistent: true, changes: { created: ['via_rpc'] } });
    const out = await rpc('export_metadata', {});
    expect(out.json.result.sources[0].tables[0].event_triggers[0].name).toBe('via_rpc');
    const refused = await rpc('replace_metadata', { metadata: doc([{ table: 'nope', event_triggers: [conf('x')] }]) });
    expect(refused.json.error).toMatchObject({ data: { code: 'unexpected', path: '$.args' } });
  });
});
