/**
 * test_webhook_transform over real HTTP, with Hasura's own test cases (server/tests-py's
 * test_webhook_transform_*.yaml, WebhookTransformSpec): the answer's shape and values, and its errors.
 * Where the values differ from Hasura's, it is the sample request this daemon starts from (POST, with
 * Content-Type and User-Agent, where Hasura starts from GET without headers): the tests say so.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { USER_AGENT } from '../../src/delivery/requestHeaders.js';
import { startApi, type ApiHarness } from '../support/apiHarness.js';

let api: ApiHarness;

beforeAll(async () => {
  // The daemon's own environment: test_webhook_transform must never read it.
  api = await startApi({ env: { MY_WEBHOOK: 'http://daemon-env.invalid' } });
});
afterAll(() => api?.close());

const testTransform = (args: Record<string, unknown>, path = '/v1/metadata') => api.post(path, { type: 'test_webhook_transform', args });

const DEFAULT_HEADERS = [
  ['content-type', 'application/json'],
  ['user-agent', USER_AGENT],
];

describe("test_webhook_transform with Hasura's cases", () => {
  test('success: url, version 1 body, method, query_params, add_headers', async () => {
    const res = await testTransform({
      webhook_url: 'http://localhost:1234',
      body: { hello: 'world' },
      request_transform: {
        url: 'http://www.google.com',
        template_engine: 'Kriti',
        body: '"hello_{{ $body.hello }}"',
        method: 'POST',
        query_params: { foo: 'bar' },
        request_headers: { add_headers: { foo: 'bar' } },
      },
    });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({
      webhook_url: 'http://www.google.com?foo=bar',
      method: 'POST',
      headers: [...DEFAULT_HEADERS, ['foo', 'bar']],
      body: 'hello_world',
    });
    expect(Object.keys(res.json)).toEqual(['webhook_url', 'method', 'headers', 'body']);
  });

  test('form urlencoded body, with the content-type set by add_headers', async () => {
    const res = await testTransform({
      webhook_url: 'http://localhost:1234',
      body: { hello: 'world' },
      request_transform: {
        version: 2,
        url: 'http://www.google.com',
        template_engine: 'Kriti',
        body: { action: 'x_www_form_urlencoded', form_template: { foo: 'bar', baz: '{{$body.hello}}' } },
        method: 'POST',
        query_params: { foo: 'bar' },
        request_headers: { add_headers: { foo: 'bar', 'content-type': 'application/x-www-form-urlencoded' } },
      },
    });
    expect(res.json).toEqual({
      webhook_url: 'http://www.google.com?foo=bar',
      method: 'POST',
      headers: [
        ['user-agent', USER_AGENT],
        ['foo', 'bar'],
        ['content-type', 'application/x-www-form-urlencoded'],
      ],
      body: 'foo=bar&baz=world',
    });
  });

  test('remove body: the body is ""', async () => {
    const res = await testTransform({
      webhook_url: 'http://localhost:1234',
      body: { hello: 'world' },
      request_transform: {
        version: 2,
        url: 'http://www.google.com',
        template_engine: 'Kriti',
        body: { action: 'remove' },
        method: 'GET',
        query_params: { foo: 'bar' },
        request_headers: { add_headers: { foo: 'bar' } },
      },
    });
    expect(res.json).toEqual({
      webhook_url: 'http://www.google.com?foo=bar',
      method: 'GET',
      headers: [...DEFAULT_HEADERS, ['foo', 'bar']],
      body: '',
    });
  });

  test('getSessionVariable from the sample session_variables', async () => {
    const res = await testTransform({
      webhook_url: 'http://localhost:1234',
      body: { hello: 'world' },
      session_variables: { myVariable: 'some value' },
      request_transform: { body: '{{ getSessionVariable "myVariable" }}', template_engine: 'Kriti' },
    });
    // Hasura's example answers GET (its sample request is a GET); this daemon's is the POST it sends.
    expect(res.json).toEqual({ webhook_url: 'http://localhost:1234', method: 'POST', headers: DEFAULT_HEADERS, body: 'some value' });
  });

  test('a session variable that does not exist: validation-failed with the function error', async () => {
    const res = await testTransform({
      webhook_url: 'http://localhost:1234',
      body: { hello: 'world' },
      session_variables: { myVariable: 'some value' },
      request_transform: { body: '{{ getSessionVariable "this_variable_doesnt_exist" }}', template_engine: 'Kriti' },
    });
    expect(res.status).toBe(400);
    expect(res.json).toEqual({
      path: '$.args.request_transform.body',
      error:
        'request transform validation failed: request_transform.body: Function Error at line 1, column 23: Session variable "this_variable_doesnt_exist" not found',
      code: 'validation-failed',
      internal: [
        {
          error_code: 'Function Error',
          message: 'Session variable "this_variable_doesnt_exist" not found',
          source_position: { start_line: 0, start_column: 23, end_line: 0, end_column: 51 },
        },
      ],
    });
  });

  test('bad eval: a key the sample body does not have', async () => {
    const res = await testTransform({
      webhook_url: 'http://localhost:1234',
      body: { hello: 'world' },
      request_transform: { body: '{{ $body.world }}', template_engine: 'Kriti' },
    });
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({
      path: '$.args.request_transform.body',
      code: 'validation-failed',
      internal: [{ error_code: 'Attribute Error', message: "'Object' has no attribute 'world'." }],
    });
  });

  test('bad parse: refused before anything runs', async () => {
    const res = await testTransform({
      webhook_url: 'http://localhost:1234',
      body: { hello: 'world' },
      request_transform: { version: 2, body: { action: 'transform', template: '$body.hello }}' }, template_engine: 'Kriti' },
    });
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({
      path: '$.args.request_transform.body.template',
      code: 'validation-failed',
      internal: [{ error_code: 'Parse Error', message: "Unexpected token '}'." }],
    });
  });

  test('an unknown function: refused when the template is compiled', async () => {
    const res = await testTransform({
      webhook_url: 'http://localhost:1234',
      body: { hello: 'world' },
      request_transform: { body: '{{ fooFunction "myVariable" }}', template_engine: 'Kriti' },
    });
    expect(res.json).toMatchObject({
      code: 'validation-failed',
      internal: [
        {
          error_code: 'Function Error',
          message: 'Function fooFunction is not defined.',
          source_position: { start_line: 0, start_column: 4, end_line: 0, end_column: 15 },
        },
      ],
    });
  });

  test('the webhook from the sample env ({"from_env"} and {{NAME}}), never the daemon\'s environment', async () => {
    const transform = { url: 'http://www.google.com', query_params: { foo: 'bar' } };
    const fromEnv = await testTransform({
      env: { MY_WEBHOOK: 'http://www.google.net' },
      webhook_url: { from_env: 'MY_WEBHOOK' },
      body: { hello: 'world' },
      request_transform: { ...transform, url: '{{$base_url}}/x' },
    });
    expect(fromEnv.json.webhook_url).toBe('http://www.google.net/x?foo=bar');
    const templated = await testTransform({
      env: { HOST: 'sample.example' },
      webhook_url: 'http://{{HOST}}/hook',
      body: null,
      request_transform: { url: '{{$base_url}}' },
      request_headers: [['X-Token', 'Bearer {{HOST}}']],
    });
    expect(templated.json).toMatchObject({ webhook_url: 'http://sample.example/hook', body: null });
    expect(templated.json.headers).toContainEqual(['x-token', 'Bearer sample.example']);
    const missing = await testTransform({ webhook_url: { from_env: 'MY_WEBHOOK' }, body: {}, request_transform: {} });
    expect(missing.status).toBe(400);
    expect(missing.json).toMatchObject({ path: '$.args.webhook_url', code: 'not-exists' });
    expect(missing.json.error).toMatch(/"MY_WEBHOOK" not found in "env"/);
    expect(missing.text).not.toContain('daemon-env.invalid');
  });

  test('query string generation from a list (WebhookTransformSpec)', async () => {
    const cases = [
      [
        '{{ concat ([concat({{ range _, x := $body.input }} "tags={{x}}&" {{ end }}), "flag=smthng"]) }}',
        'http://localhost:3000?tags=apple&tags=banana&flag=smthng',
      ],
      [
        '{{ concat (["tags=", concat({{ range _, x := $body.input }} "{{x}}," {{ end }})]) }}',
        'http://localhost:3000?tags=apple%2Cbanana%2C',
      ],
    ];
    for (const [queryParams, expected] of cases) {
      const res = await testTransform({
        webhook_url: 'http://localhost:3000',
        body: { input: ['apple', 'banana'] },
        request_transform: { version: 2, url: '{{ $base_url }}', query_params: queryParams, template_engine: 'Kriti' },
      });
      expect(res.json).toMatchObject({ body: { input: ['apple', 'banana'] }, webhook_url: expected });
    }
  });
});

describe('test_webhook_transform on every transport, and its refusals', () => {
  // As text: a JS number would already have lost the last digits of this bigint.
  const args =
    '{"webhook_url": "http://localhost:1234", "body": {"n": 50755254975729665}, "request_transform": {"body": "{\\"id\\": {{ $body.n }}}"}}';

  test('the same answer on /v1/query, /v1/metadata and /rpc; numbers keep every digit', async () => {
    const viaQuery = await api.post('/v1/query', `{"type": "test_webhook_transform", "args": ${args}}`);
    const viaMetadata = await api.post('/v1/metadata', `{"type": "test_webhook_transform", "args": ${args}}`);
    const viaRpc = await api.post('/rpc', `{"jsonrpc": "2.0", "id": 7, "method": "test_webhook_transform", "params": ${args}}`);
    expect(viaQuery.text).toContain('"body":{"id":50755254975729665}');
    expect(viaMetadata.text).toBe(viaQuery.text);
    expect(viaRpc.text).toContain('"result":{"webhook_url":"http://localhost:1234"');
    expect(viaRpc.text).toContain('"body":{"id":50755254975729665}');
  });

  test.each([
    [
      'no body',
      { webhook_url: 'http://h', request_transform: {} },
      { path: '$.args', code: 'parse-failed', error: 'key "body" not found' },
    ],
    ['no request_transform', { webhook_url: 'http://h', body: {} }, { path: '$.args', code: 'parse-failed' }],
    [
      'a webhook that is no http URL',
      { webhook_url: 'ftp://h', body: {}, request_transform: {} },
      { path: '$.args.webhook_url', code: 'validation-failed' },
    ],
    [
      'an unclosed {{ in the webhook',
      { webhook_url: 'http://{{H', body: {}, request_transform: {} },
      { path: '$.args.webhook_url', code: 'parse-failed' },
    ],
    [
      'a response_transform',
      { webhook_url: 'http://h', body: {}, request_transform: {}, response_transform: { body: 'x' } },
      { path: '$.args.response_transform', code: 'not-supported' },
    ],
    [
      'session variables that are not strings',
      { webhook_url: 'http://h', body: {}, request_transform: {}, session_variables: { a: 1 } },
      { path: '$.args.session_variables.a', code: 'parse-failed' },
    ],
    [
      'a sample header with a line break',
      { webhook_url: 'http://h', body: {}, request_transform: {}, request_headers: { 'X-A': 'a\r\nb' } },
      { path: '$.args.request_headers[0]', code: 'parse-failed' },
    ],
    ['an unknown key', { webhook_url: 'http://h', body: {}, request_transform: {}, payload: {} }, { path: '$.args', code: 'parse-failed' }],
  ])('%s', async (_what, badArgs, expected) => {
    const res = await testTransform(badArgs);
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject(expected);
  });

  test('a url template that gives no http URL fails at url', async () => {
    const res = await testTransform({ webhook_url: 'http://h', body: { u: 'mailto:x' }, request_transform: { url: '{{ $body.u }}' } });
    expect(res.json).toMatchObject({
      path: '$.args.request_transform.url',
      code: 'validation-failed',
      internal: [{ error_code: 'Transformation Error', message: 'the template did not produce an absolute http:// or https:// URL' }],
    });
  });
});
