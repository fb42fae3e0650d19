/**
 * Request transforms applied to a request, pure: each part (method, url, query_params, request_headers,
 * body, content_type) as Hasura applies it, the variables templates see, and failures with their part.
 */
import { describe, expect, test } from 'vitest';
import { encodeForm, parseQuery, renderQuery, splitUrl } from '../../src/transform/httpParts.js';
import {
  applyRequestTransform,
  compileRequestTransform,
  TransformRunError,
  type OriginalRequest,
} from '../../src/transform/requestTransform.js';
import { requestTransformArg, type RequestTransformDefinition } from '../../src/transform/schema.js';

const definition = (t: unknown): RequestTransformDefinition => requestTransformArg.parse(t);
const apply = (t: unknown, request: Partial<OriginalRequest> = {}) =>
  applyRequestTransform(compileRequestTransform(definition(t)), {
    url: 'http://127.0.0.1:3000/hook?a=1',
    method: 'POST',
    headers: [
      ['content-type', 'application/json'],
      ['user-agent', 'pget'],
      ['x-secret', 's'],
    ],
    body: '{"hello": "world", "n": 50755254975729665, "event": {"session_variables": {"X-Hasura-Role": "user"}}}',
    ...request,
  });

function runError(t: unknown, request: Partial<OriginalRequest> = {}): TransformRunError {
  try {
    apply(t, request);
  } catch (error) {
    if (error instanceof TransformRunError) return error;
    throw error;
  }
  throw new Error('expected the transform to fail');
}

describe('applying a request transform', () => {
  test('an empty transform changes nothing: the body is sent exactly as it was', () => {
    const out = apply({});
    expect(out).toMatchObject({ method: 'POST', url: 'http://127.0.0.1:3000/hook?a=1', bodyIsJson: true });
    expect(out.body).toBe('{"hello": "world", "n": 50755254975729665, "event": {"session_variables": {"X-Hasura-Role": "user"}}}');
    expect(out.headers).toEqual([
      ['content-type', 'application/json'],
      ['user-agent', 'pget'],
      ['x-secret', 's'],
    ]);
  });

  test("Hasura's test_webhook_transform success example: url, query_params, headers, version 1 body", () => {
    const out = apply({
      url: 'http://www.google.com',
      template_engine: 'Kriti',
      body: '"hello_{{ $body.hello }}"',
      method: 'POST',
      query_params: { foo: 'bar' },
      request_headers: { add_headers: { foo: 'bar' } },
    });
    expect(out.url).toBe('http://www.google.com?foo=bar');
    expect(out.body).toBe('"hello_world"');
    expect(out.headers.at(-1)).toEqual(['foo', 'bar']);
  });

  test('a body template keeps every digit of the numbers it copies', () => {
    expect(apply({ version: 2, body: { action: 'transform', template: '{"id": {{ $body.n }}}' } }).body).toBe('{"id":50755254975729665}');
  });

  test('action remove sends no body; form bodies are url-encoded, not JSON', () => {
    expect(apply({ version: 2, body: { action: 'remove' } })).toMatchObject({ body: undefined });
    const form = apply({
      version: 2,
      body: { action: 'x_www_form_urlencoded', form_template: { foo: 'bar', baz: '{{$body.hello}}', 'a b': 'é&=' } },
      request_headers: { add_headers: { 'content-type': 'application/x-www-form-urlencoded' } },
    });
    expect(form).toMatchObject({ body: 'foo=bar&baz=world&a%20b=%C3%A9%26%3D', bodyIsJson: false });
    // add_headers replaces a header of the same name (Hasura appends a second one).
    expect(form.headers.filter(([n]) => n.toLowerCase() === 'content-type')).toEqual([
      ['content-type', 'application/x-www-form-urlencoded'],
    ]);
  });

  test('method replaces POST, as given', () => {
    expect(apply({ method: 'PUT' }).method).toBe('PUT');
    expect(apply({ method: 'get' }).method).toBe('get');
  });

  test('remove_headers by name, whatever the case; then add_headers, templated', () => {
    const out = apply({
      request_headers: { remove_headers: ['X-SECRET', 'User-Agent'], add_headers: { 'X-Greeting': 'hi {{$body.hello}}' } },
    });
    expect(out.headers).toEqual([
      ['content-type', 'application/json'],
      ['X-Greeting', 'hi world'],
    ]);
    expect(out.headerEdits).toEqual({ remove: new Set(['x-secret', 'user-agent']), set: [['X-Greeting', 'hi world']] });
  });

  test('content_type (Hasura 2.1) sets Content-Type, over add_headers', () => {
    const out = apply({
      content_type: 'application/x-www-form-urlencoded',
      request_headers: { add_headers: { 'Content-Type': 'text/plain' } },
    });
    expect(out.headers.filter(([n]) => n.toLowerCase() === 'content-type')).toEqual([
      ['Content-Type', 'application/x-www-form-urlencoded'],
    ]);
  });
});

describe('the URL and the query string', () => {
  test("url from $base_url; without query_params the query is the webhook's, as in Hasura", () => {
    expect(apply({ url: '{{$base_url}}/users/{{$body.hello}}' }, { url: 'http://h:1/api' }).url).toBe('http://h:1/api/users/world');
    expect(apply({ url: 'http://other:9/x?dropped=1' }).url).toBe('http://other:9/x?a=1');
    // $base_url holds the webhook's query too, so a path after it lands in the query, which is then replaced.
    expect(apply({ url: '{{$base_url}}/users' }).url).toBe('http://127.0.0.1:3000/hook?a=1');
  });

  test('query_params replace the query; values are percent-encoded; null values give a bare key', () => {
    expect(apply({ query_params: { q: 'a b/é', flag: null, '{{$body.hello}}': '{{$body.n}}' } }).url).toBe(
      'http://127.0.0.1:3000/hook?q=a%20b%2F%C3%A9&flag&world=50755254975729665',
    );
    expect(apply({ query_params: {} }).url).toBe('http://127.0.0.1:3000/hook');
  });

  test('a key or value rendered as "null" drops its parameter, as in Hasura', () => {
    expect(apply({ query_params: { a: '{{$body?.missing}}', b: 'kept', '{{ null }}': 'x' } }).url).toBe(
      'http://127.0.0.1:3000/hook?b=kept',
    );
  });

  test('query_params as one template: parsed, then rendered', () => {
    const out = apply(
      {
        version: 2,
        url: '{{ $base_url }}',
        query_params: '{{ concat ([concat({{ range _, x := $body.input }} "tags={{x}}&" {{ end }}), "flag=smthng"]) }}',
      },
      { url: 'http://localhost:3000', body: '{"input": ["apple", "banana"]}' },
    );
    expect(out.url).toBe('http://localhost:3000?tags=apple&tags=banana&flag=smthng');
    const commas = apply(
      {
        version: 2,
        url: '{{ $base_url }}',
        query_params: '{{ concat (["tags=", concat({{ range _, x := $body.input }} "{{x}}," {{ end }})]) }}',
      },
      { url: 'http://localhost:3000', body: '{"input": ["apple", "banana"]}' },
    );
    expect(commas.url).toBe('http://localhost:3000?tags=apple%2Cbanana%2C');
  });

  test('$query_params is the webhook query as [key, value] pairs', () => {
    const out = apply({ version: 2, body: { action: 'transform', template: '{{ $query_params }}' } }, { url: 'http://h/p?a=1&b&c=x+y%21' });
    expect(JSON.parse(out.body!)).toEqual([
      ['a', '1'],
      ['b', null],
      ['c', 'x y!'],
    ]);
  });

  test('a url template that does not give an http(s) URL fails at url', () => {
    const error = runError({ url: '{{$body.hello}}' });
    expect(error.path).toEqual(['url']);
    expect(error.message).toBe('request_transform.url: the template did not produce an absolute http:// or https:// URL');
    expect(runError({ url: 'ftp://x/{{$body.hello}}' }).path).toEqual(['url']);
  });
});

describe('session variables and failures', () => {
  test("$session_variables and getSessionVariable read the event's, keys lower-cased", () => {
    const out = apply({
      version: 2,
      body: { action: 'transform', template: '[{{ $session_variables }}, {{ getSessionVariable("x-hasura-ROLE") }}]' },
    });
    expect(JSON.parse(out.body!)).toEqual([{ 'x-hasura-role': 'user' }, 'user']);
  });

  test('session variables that are not all strings are null, as in Hasura', () => {
    const out = apply(
      { version: 2, body: { action: 'transform', template: '{{ $session_variables }}' } },
      { body: '{"event": {"session_variables": {"a": 1}}}' },
    );
    expect(out.body).toBe('null');
  });

  test('given session variables are used as given', () => {
    const out = apply({ body: '{{ getSessionVariable "myVariable" }}' }, { sessionVariables: { myvariable: 'some value' } });
    expect(out.body).toBe('"some value"');
  });

  test('a template failing at run time names its part, with the Kriti error', () => {
    const error = runError({ version: 2, body: { action: 'transform', template: '{{ $body.world }}' } });
    expect(error.path).toEqual(['body', 'template']);
    expect(error.message).toBe("request_transform.body.template: Attribute Error at line 1, column 9: 'Object' has no attribute 'world'.");
    expect(error.kriti?.toHasura()).toMatchObject({ error_code: 'Attribute Error' });
    expect(runError({ query_params: { a: '{{ $body.x.y }}' } }).path).toEqual(['query_params', 'a']);
    expect(runError({ request_headers: { add_headers: { 'X-A': '{{ head([]) }}' } } }).path).toEqual([
      'request_headers',
      'add_headers',
      'X-A',
    ]);
    expect(runError({ version: 2, body: { action: 'x_www_form_urlencoded', form_template: { f: '{{ $nope }}' } } }).path).toEqual([
      'body',
      'form_template',
      'f',
    ]);
  });

  test('a header value with a line break is refused', () => {
    const error = runError(
      { request_headers: { add_headers: { 'X-A': '{{ $body.hello }}' } } },
      { body: '{"hello": "a\\r\\nX-Injected: 1"}' },
    );
    expect(error.message).toMatch(/CR, LF or NUL/);
  });

  test('values nested too deeply are a failure of the request, not an exception of the process', () => {
    const deep = '['.repeat(50_000) + ']'.repeat(50_000);
    expect(runError({ version: 2, body: { action: 'transform', template: '{{ [$body] }}' } }, { body: deep }).message).toMatch(
      /nested too deeply/,
    );
  });

  test('a body that is not JSON is refused, not thrown at', () => {
    expect(runError({}, { body: '{' }).message).toMatch(/cannot be read as JSON/);
  });
});

describe('http parts', () => {
  test('parseQuery and renderQuery', () => {
    expect(parseQuery('?a=1&&b;c=d=e&e%20f=g+h')).toEqual([
      ['a', '1'],
      ['b', null],
      ['c', 'd=e'],
      ['e f', 'g h'],
    ]);
    expect(
      renderQuery([
        ['a b', "!*'()~"],
        ['k', null],
      ]),
    ).toBe('a%20b=%21%2A%27%28%29~&k');
    expect(parseQuery('%zz=%4')).toEqual([['%zz', '%4']]);
  });

  test('splitUrl keeps the URL as written', () => {
    expect(splitUrl('http://h:1/p?q=1#f')).toEqual({ base: 'http://h:1/p', query: 'q=1' });
    expect(splitUrl('http://h#f?x')).toEqual({ base: 'http://h', query: '' });
    expect(splitUrl('http://h')).toEqual({ base: 'http://h', query: '' });
  });

  test('form encoding replaces an unpaired surrogate rather than fail', () => {
    expect(encodeForm([['k', 'a\ud800']])).toBe('k=a%EF%BF%BD');
  });
});
