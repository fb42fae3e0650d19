/**
 * The transports around the operations: /v1/query and /v1/metadata (bulk included), /rpc (JSON-RPC 2.0),
 * unknown paths, and the admin secret.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { request } from 'undici';
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

  test.each(['', ';', 'a/b/c', 'application/json; charset'])('a malformed Content-Type (%j) is read as JSON too, not refused with 415', async (type) => {
    const body = JSON.stringify({ type: 'delete_event_trigger', args: { name: 'x' } });
    const hasura = await api.post('/v1/query', body, { 'content-type': type });
    expect(hasura.status).toBe(400);
    expect(hasura.json.code).toBe('not-exists');
    const rpc = await api.post('/rpc', JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'delete_event_trigger', params: { name: 'x' } }), {
      'content-type': type,
    });
    expect(rpc.status).toBe(200);
    expect(rpc.json).toMatchObject({ jsonrpc: '2.0', id: 1, error: { code: -32001, data: { code: 'not-exists' } } });
  });

  test('JSON nested deeper than the parser can follow is "nested too deeply", not a stack overflow', async () => {
    const res = await api.post('/v1/query', `{"type":"invoke_event_trigger","args":{"name":"x","payload":${'['.repeat(20_000)}${']'.repeat(20_000)}}}`);
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
      path: '$.args[1].args.name',
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
    const cases: Array<[string, unknown, string]> = [
      ['invoke_event_trigger', { name: 'ghost', payload: {} }, '$.args.name'],
      ['redeliver_event', { event_id: '00000000-0000-4000-8000-000000000000' }, '$.args.event_id'],
      ['get_event_logs', { name: 'ghost' }, '$.args.name'],
      ['get_event_invocation_logs', { name: 'ghost' }, '$.args.name'],
      ['pg_get_event_by_id', { event_id: '00000000-0000-4000-8000-000000000000', source: 'default' }, '$.args.event_id'],
    ];
    for (const [type, args, path] of cases) {
      const res = await api.query(type, args);
      expect(res.status, type).toBe(400);
      expect(res.json, type).toMatchObject({ code: 'not-exists', path });
    }
    const missingPayload = await api.query('invoke_event_trigger', { name: 'ghost' });
    expect(missingPayload.json).toMatchObject({ code: 'parse-failed', path: '$.args', error: 'key "payload" not found' });
  });

  test('invoke_event_trigger: allowed when enable_manual is omitted, refused when false', async () => {
    await api.query('create_event_trigger', { ...trigger('manual_ok').args });
    expect((await api.query('invoke_event_trigger', { name: 'manual_ok', payload: { a: 1 } })).json.event_id).toMatch(/^[0-9a-f-]{36}$/);
    await api.query('create_event_trigger', { ...trigger('manual_off').args, enable_manual: false });
    const before = await catalogSnapshot(api.pool);
    const res = await api.query('invoke_event_trigger', { name: 'manual_off', payload: {} });
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ code: 'not-supported', path: '$.args.name' });
    expect(await catalogSnapshot(api.pool)).toEqual(before);
  });

  test('get_event_logs, get_event_invocation_logs and get_event_by_id show events and attempts', async () => {
    await api.query('create_event_trigger', { ...trigger('logged').args, update: { columns: '*' } });
    await api.pool.query('insert into items values (50755254975729665 % 1000000)');
    const logs = await api.query('get_event_logs', { name: 'logged', status: 'pending', limit: 10 });
    expect(logs.status).toBe(200);
    expect(logs.json).toHaveLength(1);
    const event = logs.json[0];
    expect(event).toMatchObject({ trigger_name: 'logged', table_name: 'items', delivered: false, error: false, tries: 0, status: 'pending' });
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
      error: { code: -32001, message: 'event trigger "ghost" does not exist', data: { path: '$.args.name', error: 'event trigger "ghost" does not exist', code: 'not-exists' } },
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

  test('the secret in X-Hasura-Admin-Secret or as a Bearer token is accepted; X-Hasura-Role too', async () => {
    const header = await secured.post('/v1/query', op, { 'x-hasura-admin-secret': 's3cr3t', 'x-hasura-role': 'admin' });
    expect(header.json.code).toBe('not-exists');
    const bearer = await secured.post('/v1/query', op, { authorization: 'Bearer s3cr3t' });
    expect(bearer.json.code).toBe('not-exists');
  });

  test('/healthz needs no secret', async () => {
    const res = await request(`${secured.url}/healthz`);
    expect(res.statusCode).toBe(200);
    expect(await res.body.text()).toBe('OK');
  });
});
