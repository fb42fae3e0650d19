/**
 * Kriti's language, construct by construct: literals, strings, paths and optional chaining, operators
 * and their precedence, if/elif/else, range, function calls, comments.
 */
import { LosslessNumber } from 'lossless-json';
import { describe, expect, test } from 'vitest';
import { compileTemplate, encodeJson, parseExact, type KValue } from '../../../src/transform/kriti/index.js';

const run = (source: string, bindings: Record<string, KValue> = {}, mode: 'template' | 'string' = 'template') =>
  compileTemplate(source, mode).run(bindings);
/** The result as JSON text: numbers exactly as computed. */
const text = (source: string, bindings: Record<string, KValue> = {}) => encodeJson(run(source, bindings));

describe('literals', () => {
  test('JSON literals, whitespace and comments', () => {
    expect(text('{ "a" : [ 1 , -2.5e3 , true , false , null , "s" ] , "b" : { } , "c" : [ ] } # trailing comment')).toBe(
      '{"a":[1,-2.5e3,true,false,null,"s"],"b":{},"c":[]}',
    );
  });

  test('numbers keep every digit', () => {
    expect(text('[50755254975729665, 0.1000000000000000055511151231257827, 1e400]')).toBe(
      '[50755254975729665,0.1000000000000000055511151231257827,1e400]',
    );
  });

  test('JSON string escapes in quoted strings', () => {
    expect(run('"a\\"b\\\\c\\/d\\n\\t\\u00e9\\ud83d\\ude00"')).toBe('a"b\\c/d\n\té😀');
    expect(run('"{ and } alone are text"')).toBe('{ and } alone are text');
  });

  test('object keys may repeat: the last wins', () => {
    expect(run('{"a": 1, "a": 2}')).toEqual({ a: new LosslessNumber('2') });
  });

  test('"__proto__" is an ordinary key', () => {
    const value = run('{"__proto__": {"polluted": true}}') as Record<string, KValue>;
    expect(Object.keys(value)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(encodeJson(value)).toBe('{"__proto__":{"polluted":true}}');
  });
});

describe('strings and interpolation', () => {
  test('non-strings interpolate as their JSON text, null as "null"', () => {
    expect(run('"{{ 1.50 }} {{ true }} {{ null }} {{ [1, "a"] }} {{ {"k": 2} }}"')).toBe('1.50 true null [1,"a"] {"k":2}');
  });

  test('a string template: text taken as written, no escapes, quotes allowed', () => {
    expect(run('Bearer "{{ $t }}" \\n', { $t: 'x' }, 'string')).toBe('Bearer "x" \\n');
    expect(run('', {}, 'string')).toBe('');
    expect(run('no templates here', {}, 'string')).toBe('no templates here');
  });

  test('strings nest inside interpolations inside strings', () => {
    expect(run('"a{{ concat(["b", "c{{ $x }}"]) }}d"', { $x: 'X' })).toBe('abcXd');
  });

  test('"}}" closing nested objects inside {{ }} is two braces', () => {
    expect(run('{{ {"a": {"b": 1}} }}')).toEqual({ a: { b: new LosslessNumber('1') } });
  });

  test('{{ }} in code is grouping: the same value with or without it', () => {
    expect(run('{{ {{ $x }} }}', { $x: 3 })).toBe(3);
    expect(run('$x', { $x: 3 })).toBe(3);
  });
});

describe('paths', () => {
  const body = parseExact('{"a": {"b": [10, {"c": "deep"}], "with space": 1, "x-hasura-role": "user", "in": "kw"}, "n": null}');

  test('dot, bracket with a string, index, computed keys', () => {
    expect(run('$body.a.b[1].c', { $body: body })).toBe('deep');
    expect(run("$body.a['with space']", { $body: body })).toEqual(new LosslessNumber('1'));
    expect(run('$body.a.x-hasura-role', { $body: body })).toBe('user');
    expect(run('$body.a.in', { $body: body })).toBe('kw');
    expect(run('$body.a[$k]', { $body: body, $k: 'in' })).toBe('kw');
    expect(run('$body.a.b[$i]', { $body: body, $i: 0 })).toEqual(new LosslessNumber('10'));
    expect(run("$body.a['{{ $k }}']", { $body: body, $k: 'in' })).toBe('kw');
  });

  test('?. and ?[ ] short-circuit the rest of the chain on null or a missing key', () => {
    expect(run('$body?.missing.b.c', { $body: body })).toBeNull();
    expect(run('$body.n?.x.y', { $body: body })).toBeNull();
    expect(run('$body.a.b?[7]', { $body: body })).toBeNull();
    expect(run('$body.a.b?.[7].c', { $body: body })).toBeNull();
    expect(run("$body?['missing']", { $body: body })).toBeNull();
    expect(run('$nothing?.x', {})).toBeNull();
  });

  test('a required step after an optional one that found something still requires', () => {
    expect(() => run('$body?.a.missing', { $body: body })).toThrow(/Attribute Error.*'missing'/);
  });

  test('paths apply to any value: literals and call results', () => {
    expect(run('{"k": [5]}.k[0]')).toEqual(new LosslessNumber('5'));
    expect(run('head([{"x": 1}]).x')).toEqual(new LosslessNumber('1'));
  });
});

describe('operators', () => {
  test('comparisons compare numbers exactly, across notations', () => {
    expect(run('[1.0 == 1, 1e2 == 100, 0.1 < 0.10000000000000001, 50755254975729665 > 50755254975729664, -0 == 0]')).toEqual([
      true,
      true,
      true,
      true,
      true,
    ]);
  });

  test('equality is deep and ignores key order', () => {
    expect(run('{"a": [1, {"b": 2}], "c": 3} == {"c": 3.0, "a": [1, {"b": 2}]}')).toBe(true);
    expect(run('[1, 2] != [2, 1]')).toBe(true);
    expect(run('"1" == 1')).toBe(false);
  });

  test('ordering across types follows aeson: Object < Array < String < Number < Boolean < Null', () => {
    expect(run('[{} < [], [] < "", "" < 0, 0 < false, false < true, true < null, "b" > "a", [1, 2] < [1, 3]]')).toEqual([
      true,
      true,
      true,
      true,
      true,
      true,
      true,
      true,
    ]);
  });

  test('in: a key of an object, or an element of an array', () => {
    expect(run('["a" in {"a": 1}, "b" in {"a": 1}, 2 in [1, 2], {"x": 1} in [{"x": 1.0}], 3 in []]')).toEqual([
      true,
      false,
      true,
      true,
      false,
    ]);
  });

  test('&& and || stop at the left side when it decides', () => {
    expect(run('$x != null && $x.y', { $x: null })).toBe(false);
    expect(run('$x == null || $x.y', { $x: null })).toBe(true);
    expect(run('true && $x.y', { $x: { y: true } })).toBe(true);
  });

  test('?? replaces null only', () => {
    expect(run('[null ?? 1, false ?? 1, 0 ?? 1, "" ?? 1]')).toEqual([new LosslessNumber('1'), false, new LosslessNumber('0'), '']);
  });

  test("precedence as Kriti's: comparisons, then ??, &&, ||, in; right-associative", () => {
    expect(run('1 == 1 && 2 > 1 || false')).toBe(true);
    expect(run('$a ?? 1 == 1', { $a: null })).toBe(true);
    expect(run('false && false || true')).toBe(true);
    expect(run('true || false && false')).toBe(true);
    // in binds loosest: this is "a" in ($o || false), and $o is no boolean.
    expect(() => run('"a" in $o || false', { $o: { a: 1 } })).toThrow(/expected type 'Boolean' with actual type 'Object'/);
    expect(run('("a" in $o) || false', { $o: { a: 1 } })).toBe(true);
  });

  test('not as a function, with or without parentheses', () => {
    expect(run('[not true, not(false), not (1 == 2), not empty([1])]')).toEqual([false, true, true, true]);
  });
});

describe('if and range', () => {
  test('if / elif / else picks the first true branch', () => {
    const template = '{{ if $n > 10 }} "big" {{ elif $n > 5 }} "medium" {{ elif $n > 0 }} "small" {{ else }} "none" {{ end }}';
    expect([20, 7, 1, 0].map((n) => run(template, { $n: n }))).toEqual(['big', 'medium', 'small', 'none']);
  });

  test('only the branch taken is evaluated', () => {
    expect(run('{{ if true }} 1 {{ else }} $missing.x {{ end }}')).toEqual(new LosslessNumber('1'));
  });

  test('if blocks nest inside objects, arrays and ranges', () => {
    expect(run('{"v": [{{ if $b }} {"x": {{ if $b }} 1 {{ else }} 2 {{ end }}} {{ else }} null {{ end }}]}', { $b: true })).toEqual({
      v: [{ x: new LosslessNumber('1') }],
    });
  });

  test('range over an empty array, nested ranges, shadowing', () => {
    expect(run('{{ range _, x := [] }} x {{ end }}')).toEqual([]);
    expect(run('{{ range i, x := [[1], [2, 3]] }} {{ range j, x := x }} [{{ i }}, {{ j }}, {{ x }}] {{ end }} {{ end }}')).toEqual([
      [[0, 0, new LosslessNumber('1')]],
      [
        [1, 0, new LosslessNumber('2')],
        [1, 1, new LosslessNumber('3')],
      ],
    ]);
  });

  test('a loop variable named like a function is a variable', () => {
    expect(run('{{ range _, head := ["a"] }} head {{ end }}')).toEqual(['a']);
  });

  test('the source of a range is any expression', () => {
    expect(run('{{ range _, x := concat([[1], [2]]) }} x {{ end }}')).toEqual([new LosslessNumber('1'), new LosslessNumber('2')]);
  });
});
