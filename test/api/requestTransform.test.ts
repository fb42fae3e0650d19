/**
 * request_transform on create_event_trigger, over real HTTP against a real PostgreSQL: accepted,
 * stored and answered in Hasura's encoding; its older name transform; and every bad transform refused
 * at its path (a template that does not compile as Hasura answers it: validation-failed, the Kriti
 * errors in "internal"), with nothing changed.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { startApi, type ApiHarness } from '../support/apiHarness.js';
import { catalogSnapshot } from '../support/catalogSnapshot.js';

let api: ApiHarness;
const WEBHOOK = 'http://127.0.0.1:9/hook';

beforeAll(async () => {
  api = await startApi();
  await api.pool.query('create table public.orders (id bigint primary key, total numeric)');
});
afterAll(() => api?.close());

beforeEach(async () => {
  await api.query('delete_event_trigger', { name: 'orders_changes' });
  await api.pool.query('create table if not exists public.orders (id bigint primary key, total numeric)');
});

const base = (args: Record<string, unknown> = {}) => ({
  name: 'orders_changes',
  table: 'orders',
  webhook: WEBHOOK,
  insert: { columns: '*' },
  ...args,
});

async function storedTransform(): Promise<unknown> {
  const { rows } = await api.pool.query('select definition from event_triggers.event_triggers where name = $1', ['orders_changes']);
  return rows[0]?.definition.request_transform;
}

/** A transform as Hasura exports it: every key, version 2. */
const FULL = {
  version: 2,
  template_engine: 'Kriti',
  method: 'PUT',
  url: '{{$base_url}}/orders/{{$body.event.data.new.id}}',
  query_params: { source: 'pget', flag: null },
  request_headers: { add_headers: { 'X-Order': '{{$body.event.data.new.id}}' }, remove_headers: ['User-Agent'] },
  body: { action: 'transform', template: '{"id": {{$body.event.data.new.id}}, "total": {{$body.event.data.new.total}}}' },
};

describe('create_event_trigger with request_transform', () => {
  test("a transform in Hasura's encoding is stored and answered back exactly", async () => {
    expect((await api.query('create_event_trigger', base({ request_transform: FULL }))).json).toEqual({ message: 'success' });
    expect(await storedTransform()).toEqual(FULL);
    // get_inconsistent_metadata answers the definition; a dropped table makes the trigger show there.
    await api.pool.query('drop table public.orders');
    const answer = await api.post('/v1/metadata', { type: 'get_inconsistent_metadata', args: {} });
    expect(answer.json.inconsistent_objects[0].definition.request_transform).toEqual(FULL);
  });

  test('defaults come back as Hasura answers them: version 1, template_engine, both header lists', async () => {
    await api.query(
      'create_event_trigger',
      base({ request_transform: { body: '{{ $body }}', request_headers: { add_headers: { A: 'b' } }, method: null } }),
    );
    expect(await storedTransform()).toEqual({
      version: 1,
      template_engine: 'Kriti',
      request_headers: { add_headers: { A: 'b' }, remove_headers: [] },
      body: '{{ $body }}',
    });
  });

  test('form bodies, removal, a query string template and content_type are stored as given', async () => {
    const form = {
      version: 2,
      template_engine: 'Kriti',
      query_params: 'id={{$body.event.data.new.id}}',
      body: { action: 'x_www_form_urlencoded', form_template: { id: '{{$body.event.data.new.id}}' } },
      content_type: 'application/x-www-form-urlencoded',
    };
    await api.query('create_event_trigger', base({ request_transform: form }));
    expect(await storedTransform()).toEqual(form);
    await api.query('create_event_trigger', base({ replace: true, request_transform: { version: 2, body: { action: 'remove' } } }));
    expect(await storedTransform()).toEqual({ version: 2, template_engine: 'Kriti', body: { action: 'remove' } });
  });

  test('transform, the older name, is stored as request_transform; replace without one drops it', async () => {
    await api.query('create_event_trigger', base({ transform: { url: '{{$base_url}}/x' } }));
    expect(await storedTransform()).toEqual({ version: 1, template_engine: 'Kriti', url: '{{$base_url}}/x' });
    await api.query('create_event_trigger', base({ replace: true }));
    expect(await storedTransform()).toBeUndefined();
  });
});

describe('bad request transforms are refused at their path, nothing changed', () => {
  const refusals: Array<[string, unknown, Record<string, unknown>]> = [
    [
      'a body template that does not parse',
      { version: 2, body: { action: 'transform', template: '$body.hello }}' } },
      {
        path: '$.args.request_transform.body.template',
        code: 'validation-failed',
        error: "request transform validation failed: Parse Error at line 1, column 13: Unexpected token '}'.",
        internal: [
          {
            error_code: 'Parse Error',
            message: "Unexpected token '}'.",
            source_position: { start_line: 0, start_column: 13, end_line: 0, end_column: 14 },
          },
        ],
      },
    ],
    [
      'a version 1 body template that does not parse',
      { body: '{"a": }' },
      { path: '$.args.request_transform.body', code: 'validation-failed' },
    ],
    [
      'a url template calling a function that does not exist',
      { url: '{{ nope($body) }}' },
      { path: '$.args.request_transform.url', code: 'validation-failed' },
    ],
    [
      'a query param template',
      { query_params: { q: '{{ $body. }}' } },
      { path: '$.args.request_transform.query_params.q', code: 'validation-failed' },
    ],
    [
      'a header template',
      { request_headers: { add_headers: { 'X-A': '{{' } } },
      { path: '$.args.request_transform.request_headers.add_headers["X-A"]', code: 'validation-failed' },
    ],
    [
      'a form field template',
      { version: 2, body: { action: 'x_www_form_urlencoded', form_template: { f: '{{ ) }}' } } },
      { path: '$.args.request_transform.body.form_template.f', code: 'validation-failed' },
    ],
    [
      'version 3',
      { version: 3 },
      { path: '$.args.request_transform.version', code: 'parse-failed', error: 'expected 1 or 2, encountered 3' },
    ],
    ['another template engine', { template_engine: 'Go' }, { path: '$.args.request_transform.template_engine', code: 'parse-failed' }],
    [
      'an unknown body action',
      { version: 2, body: { action: 'replace' } },
      {
        path: '$.args.request_transform.body.action',
        code: 'parse-failed',
        error: 'expected one of "remove", "transform", "x_www_form_urlencoded"',
      },
    ],
    [
      'a transform action without its template',
      { version: 2, body: { action: 'transform' } },
      { path: '$.args.request_transform.body', code: 'parse-failed', error: 'key "template" not found' },
    ],
    [
      'an object body in version 1',
      { body: { action: 'remove' } },
      { path: '$.args.request_transform.body', code: 'parse-failed', error: /version 1 takes the body as a template string/ },
    ],
    ['a string body in version 2', { version: 2, body: '{{ $body }}' }, { path: '$.args.request_transform.body', code: 'parse-failed' }],
    ['an unknown key', { urll: 'x' }, { path: '$.args.request_transform', code: 'parse-failed', error: 'unexpected key "urll"' }],
    ['a method that is no HTTP token', { method: 'GE T' }, { path: '$.args.request_transform.method', code: 'parse-failed' }],
    [
      'a header name that is no HTTP token',
      { request_headers: { add_headers: { 'X A': 'b' } } },
      { path: '$.args.request_transform.request_headers.add_headers["X A"]', code: 'parse-failed' },
    ],
    [
      'a header the HTTP client sets itself',
      { request_headers: { add_headers: { 'Content-Length': '1' } } },
      { path: '$.args.request_transform.request_headers.add_headers["Content-Length"]', code: 'parse-failed' },
    ],
    [
      'a header value with a line break',
      { request_headers: { add_headers: { 'X-A': 'a\nb' } } },
      { path: '$.args.request_transform.request_headers.add_headers["X-A"]', code: 'parse-failed' },
    ],
    ['query_params of a number', { query_params: 5 }, { path: '$.args.request_transform.query_params', code: 'parse-failed' }],
    [
      'a content_type Hasura never had',
      { content_type: 'text/plain' },
      { path: '$.args.request_transform.content_type', code: 'parse-failed' },
    ],
    ['a transform that is not an object', 'x', { path: '$.args.request_transform', code: 'parse-failed' }],
  ];

  test.each(refusals)('%s', async (_what, transform, expected) => {
    const before = await catalogSnapshot(api.pool);
    const res = await api.query('create_event_trigger', base({ request_transform: transform }));
    expect(res.status).toBe(400);
    const { error, ...rest } = expected;
    expect(res.json).toMatchObject(rest);
    if (error instanceof RegExp) expect(res.json.error).toMatch(error);
    else if (error !== undefined) expect(res.json.error).toBe(error);
    expect(await catalogSnapshot(api.pool)).toEqual(before);
  });

  test('both names at once are refused', async () => {
    const res = await api.query('create_event_trigger', base({ request_transform: {}, transform: {} }));
    expect(res.json).toMatchObject({ path: '$.args.transform', code: 'parse-failed' });
  });

  test("in a bulk, the path names the operation; over JSON-RPC, invalid params with Hasura's error in data", async () => {
    const bulk = await api.post('/v1/query', {
      type: 'bulk',
      args: [
        { type: 'get_inconsistent_metadata', args: {} },
        { type: 'create_event_trigger', args: base({ request_transform: { body: '{{' } }) },
      ],
    });
    expect(bulk.json).toMatchObject({ path: '$.args[1].args.request_transform.body', code: 'validation-failed' });
    const rpc = await api.post('/rpc', {
      jsonrpc: '2.0',
      id: 1,
      method: 'create_event_trigger',
      params: base({ request_transform: { body: '{{' } }),
    });
    expect(rpc.json.error).toMatchObject({
      code: -32602,
      data: { path: '$.args.request_transform.body', code: 'validation-failed', internal: [{ error_code: 'Parse Error' }] },
    });
  });
});
