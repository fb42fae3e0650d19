/**
 * Kriti against the examples its README, Hasura's documentation and Hasura's own tests give, with the
 * outputs they state.
 */
import { describe, expect, test } from 'vitest';
import { compileTemplate, type KValue } from '../../../src/transform/kriti/index.js';

/** Runs a template and returns its value as plain JSON (numbers as JS numbers), for comparison. */
function run(source: string, bindings: Record<string, unknown>, mode: 'template' | 'string' = 'template'): unknown {
  const value = compileTemplate(source, mode).run(bindings as Record<string, KValue>, {
    sessionVariables: { 'x-hasura-user-id': '42', myvariable: 'some value' },
  });
  return plain(value);
}

const plain = (value: KValue): unknown => JSON.parse(JSON.stringify(value, (_k, v: unknown) => (isLossless(v) ? Number(v.value) : v)));
const isLossless = (v: unknown): v is { value: string } => typeof v === 'object' && v !== null && 'isLosslessNumber' in v;

const readmeSource = {
  event: {
    name: 'Freddie Jones',
    age: 27,
    author: {
      articles: [
        { id: 0, title: 'The Elements', length: 150, published: true },
        { id: 1, title: 'ARRL Handbook', length: 1000, published: true },
        { id: 2, title: 'The Mars Trilogy', length: 500, published: false },
      ],
    },
  },
};

describe("Kriti's README", () => {
  test('the transformation example: paths and a range', () => {
    const template = `{
  "author": {
    "name": {{$.event.name}},
    "age": {{$.event.age}},
    "articles": [
{{ range _, x := $.event.author.articles }}
      {
        "id": {{x.id}},
        "title": {{x.title}}
      }
{{ end }}
    ]
  }
}`;
    // The README shows the articles as one list; a range inside [ ] is one element, the list itself.
    expect(run(template, { $: readmeSource })).toEqual({
      author: {
        name: 'Freddie Jones',
        age: 27,
        articles: [
          [
            { id: 0, title: 'The Elements' },
            { id: 1, title: 'ARRL Handbook' },
            { id: 2, title: 'The Mars Trilogy' },
          ],
        ],
      },
    });
  });

  test('the transformation example 2: an if inside a range', () => {
    const template = `{
  "articles": {{ range _, x := $.event.author.articles }}
  {{ if x.published }}
      { "id": {{x.id}}, "title": {{x.title}} }
  {{ else }}
      null
  {{ end }}
{{ end }}
}`;
    expect(run(template, { $: readmeSource })).toEqual({
      articles: [{ id: 0, title: 'The Elements' }, { id: 1, title: 'ARRL Handbook' }, null],
    });
  });

  test("path accessors: . and [index] and ['key']", () => {
    const body = { foo: { bar: [{ 'my key': 'found' }] } };
    expect(run("{{ $body.foo.bar[0]['my key'] }}", { $body: body })).toBe('found');
  });

  test('optional lookups give null, and stop the chain', () => {
    expect(run('{{ $body?.foo }}', { $body: {} })).toBeNull();
    expect(run('{{ $body?.foo.bar.baz }}', { $body: {} })).toBeNull();
  });

  test('the defaulting operator', () => {
    expect(run('{{ null ?? true }}', {})).toBe(true);
    expect(run('{{ $foo?.bar ?? true }}', { $foo: {} })).toBe(true);
    expect(run('{{ $foo?.bar ?? true }}', { $foo: { bar: false } })).toBe(false);
  });

  test('loops bind the index and the element; _ leaves the index out', () => {
    expect(run('{{ range i, x := $.event.author.articles }} {{ x.title }} {{ end }}', { $: readmeSource })).toEqual([
      'The Elements',
      'ARRL Handbook',
      'The Mars Trilogy',
    ]);
    expect(run('{{ range i, x := $.xs }} [{{ i }}, {{ x }}] {{ end }}', { $: { xs: ['a', 'b'] } })).toEqual([
      [0, 'a'],
      [1, 'b'],
    ]);
  });

  test('if with && and a parenthesised comparison', () => {
    const template = `{{ range _, x := $.posts }}
{{ if x.published && (x.post_id > 100) }}
    { "id": {{x.id}}, "title": {{x.title}} }
{{ else }}
    null
{{ end }}
{{ end }}`;
    const posts = [
      { id: 1, title: 'a', published: true, post_id: 101 },
      { id: 2, title: 'b', published: true, post_id: 100 },
      { id: 3, title: 'c', published: false, post_id: 500 },
    ];
    expect(run(template, { $: { posts } })).toEqual([{ id: 1, title: 'a' }, null, null]);
  });

  test('string interpolation', () => {
    expect(run('"http://www.{{$.domain}}.com/{{$.path}}"', { $: { domain: 'google', path: 'search' } })).toBe(
      'http://www.google.com/search',
    );
  });
});

describe("Hasura's documentation (Kriti templating)", () => {
  test('a JSON document is a template that renders itself', () => {
    expect(run('{\n"a": [1, 2, 3],\n"b": "hello world"\n}', {})).toEqual({ a: [1, 2, 3], b: 'hello world' });
  });

  test('value interpolation', () => {
    expect(run('{\n"a": 1,\n"b": {{ 2 }}\n}', {})).toEqual({ a: 1, b: 2 });
  });

  test('string interpolation of a number', () => {
    expect(run('"Hello world {{ 1 }}"', {})).toBe('Hello world 1');
  });

  test('the REST connector body example', () => {
    const template = '{\n  "users": {\n    "name": {{$body.input.arg1.username}},\n    "password": {{$body.input.arg1.password}}\n  }\n}';
    expect(run(template, { $body: { input: { arg1: { username: 'ann', password: 'pw' } } } })).toEqual({
      users: { name: 'ann', password: 'pw' },
    });
  });

  test('the event trigger REST connector example: a body built from the event', () => {
    const template =
      '{\n  "table": {\n    "name": {{$body.table.name}},\n    "schema": {{$body.table.schema}}\n  },\n  "To": {\n    "username": {{$body.event.data.new.name}}\n  }\n}';
    const body = { table: { name: 'users', schema: 'public' }, event: { data: { new: { name: 'ann' } } } };
    expect(run(template, { $body: body })).toEqual({ table: { name: 'users', schema: 'public' }, To: { username: 'ann' } });
  });

  test('URL templates: {{$base_url}} with a path', () => {
    expect(run('{{$base_url}}/api/v3/endpoint', { $base_url: 'https://api.somedomain.com' }, 'string')).toBe(
      'https://api.somedomain.com/api/v3/endpoint',
    );
  });
});

describe("Hasura's tests (test_webhook_transform and WebhookTransformSpec)", () => {
  test('a body template producing a string', () => {
    expect(run('"hello_{{ $body.hello }}"', { $body: { hello: 'world' } })).toBe('hello_world');
  });

  test('getSessionVariable, case-insensitively', () => {
    expect(run('{{ getSessionVariable "myVariable" }}', {})).toBe('some value');
    expect(run('{{ getSessionVariable("X-Hasura-User-Id") }}', {})).toBe('42');
  });

  test('a query string flattened from a list with range inside concat', () => {
    const template = '{{ concat ([concat({{ range _, x := $body.input }} "tags={{x}}&" {{ end }}), "flag=smthng"]) }}';
    expect(run(template, { $body: { input: ['apple', 'banana'] } }, 'string')).toBe('tags=apple&tags=banana&flag=smthng');
  });

  test('a comma-separated list built the same way', () => {
    const template = '{{ concat (["tags=", concat({{ range _, x := $body.input }} "{{x}}," {{ end }})]) }}';
    expect(run(template, { $body: { input: ['apple', 'banana'] } }, 'string')).toBe('tags=apple,banana,');
  });
});

describe("Kriti's own test templates", () => {
  const people = [
    { guid: 'ABC-1', friends: [1, 2], gender: 'female', balance: '$1,000', tags: ['x'], name: 'ydna', email: 'a b@x.org', isActive: true },
    { guid: 'DEF-2', friends: [], gender: 'male', balance: '$20', tags: [], name: 'nna', email: 'c@x.org', isActive: false },
    { guid: 'GHI-3', friends: [3], gender: 'male', balance: '$3', tags: [], name: 'bob', email: 'd@x.org', isActive: false },
    {
      guid: 'JKL-4',
      friends: [4, 5, 6],
      gender: 'female',
      balance: '$45',
      tags: ['y', 'z'],
      name: 'eve',
      email: 'e@x.org',
      isActive: true,
    },
  ];

  test('comparisons and boolean operators (example12)', () => {
    const template =
      '[\n  1 < 2,\n  1 > 2,\n  1 == 2,\n  true == true,\n  true && true,\n  true && false,\n  true || false,\n  false || false\n]';
    expect(run(template, {})).toEqual([true, false, false, true, true, false, true, false]);
  });

  test('if statements with != >= <= and in (example19)', () => {
    const template = `# If Statement Examples
[
  {{ if ((1) != 3) }} true {{ else }} false {{ end }},
  #{{ if not ((1) != 3) }} true {{ else }} false {{ end }},
  {{ if ((1) >= 3) }} true {{ else }} false {{ end }},
  {{ if ((1) <= 3) }} true {{ else }} false {{ end }},
  {{ if "foo" in ["foo"] }} 1 {{ else }} 0 {{ end }},
  {{ if "foo" in { "foo": true } }} 1 {{ else }} 0 {{ end }},
  {{ if ("foo" in { "foo": true }) }} 1 {{ else }} 0 {{ end }}
]`;
    expect(run(template, {})).toEqual([true, false, true, 1, 1, 1]);
  });

  test('escapeUri on a path, as a value and interpolated (example16, example17)', () => {
    expect(run('{{ escapeUri $[0].email }}', { $: people })).toBe('a%20b%40x.org');
    expect(run('"{{ escapeUri $[0].email }}"', { $: people })).toBe('a%20b%40x.org');
  });

  test('optional lookups past a missing index and key (example20, example22)', () => {
    // A missing index is an error unless its own lookup is optional, as in Kriti.
    expect(() => run('{{ $[9999]?.index }}', { $: people })).toThrow(/Index Error/);
    expect(run('{{ $?.[9999].index }}', { $: people })).toBeNull();
    expect(run('{{ $[0].notIndex?.baz }}', { $: [{ notIndex: null }] })).toBeNull();
    expect(run('{{ $[0].foo?.bar ?? true }}', { $: [{ foo: {} }] })).toBe(true);
  });

  test('functions applied without parentheses, nested (example23)', () => {
    const template = `{{ range i, x := $ }}
        {
            "agent_id" : {{ toLower x.guid }},
            "friends" : {{ size x.friends }},
            "gender" : {{toUpper (head x.gender)}},
            "money" : {{tail x.balance}},
            "tags" : {{ not (empty x.tags) }},
            "agent_name" : {{ toTitle (inverse x.name) }}
        }
    {{ end }}`;
    expect((run(template, { $: people }) as unknown[])[0]).toEqual({
      agent_id: 'abc-1',
      friends: 2,
      gender: 'F',
      money: '1,000',
      tags: true,
      agent_name: 'Andy',
    });
  });

  test('removeNulls and fromPairs over a range with an if (example24)', () => {
    const template = `{
    "agents":
    {{ removeNulls
        {{ range i, x := $ }}
            {{ if i > 2 }}
                {{ fromPairs [
                        ["agent_id", {{ toLower x.guid }}],
                        ["friends", {{ size x.friends }}]
                    ]
                }}
            {{ else }}
                null
            {{ end }}
        {{ end }}
    }}
}`;
    expect(run(template, { $: people })).toEqual({ agents: [{ agent_id: 'jkl-4', friends: 3 }] });
  });

  test('concat of a range, toPairs, concat of arrays and strings (example25, example26, example27)', () => {
    expect(run('{ "arrays": {{ concat {{ range i, x := $ }} [ {{ i }}, {{ i }} ] {{ end }} }} }', { $: ['a', 'b'] })).toEqual({
      arrays: [0, 0, 1, 1],
    });
    expect(run('{ "array": {{ toPairs { "a" : "b", "c" : "d" } }} }', {})).toEqual({
      array: [
        ['a', 'b'],
        ['c', 'd'],
      ],
    });
    expect(run('{ "array1": {{ concat [ [1,2], [3,4] ] }}, "array2": {{ concat [ "hello", " ", "world" ] }} }', {})).toEqual({
      array1: [1, 2, 3, 4],
      array2: 'hello world',
    });
  });

  test('the parser examples parse: paths, operators, functions, ranges, if statements', () => {
    const examples = [
      "[ {{ $foo }}, {{ $foo.bar.baz }}, {{ $foo['bar baz'].qux }}, {{ $foo[1][0][3].ok }}, {{ $foo?.bar }}, {{ $foo?.['bar'] }}, {{ $foo?.[1] }}, {{ $foo?.[1]?.baz }} ]",
      '[ {{ 1 > true }}, {{ $foo > 1 }}, {{ $foo >= 1 }}, {{ $foo == 1 }}, {{ $foo <= 1 }}, {{ $foo ?? 1 }}, {{ $foo != (not $bar) }}, {{ $foo || (not true) }}, {{ $foo && (not true) }}, {{ $foo in {"foo": 1} }}, {{ $foo in {"foo": {{ $bar }} } }} ]',
      '[ {{ escapeUri "foo" }}, {{ escapeUri "foo{{$bar}}" }}, {{ escapeUri $path[0] }}, {{ escapeUri "?foo=bar/baz" }}, "http://www.google.com{{escapeUri $params}}" ]',
      '[ {{ head("foo") }}, {{ not (empty (tail("f"))) }}, {{ size($path[0]) }}, {{ inverse([1,2,3,4,5,6,7,8,9]) }}, {{ toUpper("hello world")}}, {{ toTitle("hELLO wORLD")}}, {{ toLower("HELLO WORLD")}} ]',
      '[ {{ range i, x := $foo.bar[0] }} {"hello": "world"} {{ end }}, {{ range _, x := $foo.bar[0] }}\n {"hello": {{$foo.bar }}}\n # Random Comment\n {{ end }}, [{{ range i, x := $.events }} { "name": {{ x.name }} } {{ end }}] ]',
      "[ {{ if ((1) == 3) }} {{ $path['lookup']}} {{ else }} false {{ end }}, {{ if $[0].isActive == false }} true {{ else }} false {{ end }} ]",
    ];
    for (const source of examples) expect(() => compileTemplate(source, 'template'), source).not.toThrow();
  });
});
