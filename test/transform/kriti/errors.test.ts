/**
 * Kriti's errors: each says what went wrong and where, in Hasura's form (lines from 0, columns from 1),
 * for syntax errors when a template is compiled and for failures when it runs.
 */
import { describe, expect, test } from 'vitest';
import { compileTemplate, KritiError, type KValue } from '../../../src/transform/kriti/index.js';

function compileError(source: string, mode: 'template' | 'string' = 'template'): KritiError {
  try {
    compileTemplate(source, mode);
  } catch (error) {
    if (error instanceof KritiError) return error;
    throw error;
  }
  throw new Error(`expected ${source} not to compile`);
}

function runError(source: string, bindings: Record<string, KValue> = {}): KritiError {
  const template = compileTemplate(source, 'template');
  try {
    template.run(bindings);
  } catch (error) {
    if (error instanceof KritiError) return error;
    throw error;
  }
  throw new Error(`expected ${source} to fail`);
}

describe('syntax errors', () => {
  test("Hasura's bad-parse example: an unexpected '}'", () => {
    const error = compileError('$body.hello }}');
    expect(error.toHasura()).toEqual({
      error_code: 'Parse Error',
      message: "Unexpected token '}'.",
      source_position: { start_line: 0, start_column: 13, end_line: 0, end_column: 14 },
    });
    expect(error.message).toBe("Parse Error at line 1, column 13: Unexpected token '}'.");
  });

  test("Hasura's unknown-function example is refused when compiled", () => {
    const error = compileError('{{ fooFunction "myVariable" }}');
    expect(error.toHasura()).toEqual({
      error_code: 'Function Error',
      message: 'Function fooFunction is not defined.',
      source_position: { start_line: 0, start_column: 4, end_line: 0, end_column: 15 },
    });
    expect(compileError('{{ nope($x) }}').code).toBe('Function Error');
  });

  test.each([
    ['{"a": 1,}', /Unexpected token '}'.*string key/],
    ['[1, 2,]', /Unexpected token '\]'/],
    ['{"a" 1}', /expected ':'/],
    ['{{ $x ', /Unexpected end of input.*'}}'/],
    ['"abc', /Unterminated string/],
    ['{{ if true }} 1 {{ end }}', /an if needs an else branch/],
    ['{{ if true }} 1 {{ else }} 2', /Unexpected end of input.*'{{ end }}'/],
    ['{{ range x := $xs }} x {{ end }}', /expected ','/],
    ['{{ range _, x = $xs }} x {{ end }}', /Lex Error|expected ':='/],
    ['1 < 2 < 3', /Comparisons do not chain/],
    ['$x ? 1', /Lex Error.*'\?'/],
    ['@', /Lex Error.*Unexpected character '@'/],
    ['"{{ if true }} a {{ else }} b {{ end }}"', /cannot be used inside a string/],
    ['{{ }}', /Unexpected token '}}'/],
    ['$x $y', /Unexpected token '\$y'/],
    ['true false', /Unexpected token 'false'/],
    ['{"a": end}', /Unexpected token 'end'/],
  ])('%s', (source, message) => {
    expect(compileError(source).message).toMatch(message);
  });

  test('positions count lines from 0 and columns from 1, in characters', () => {
    const error = compileError('{\n  "é😀": 1,\n  "b": @\n}');
    expect(error.position).toEqual({ start_line: 2, start_column: 8, end_line: 2, end_column: 9 });
  });

  test('a template nested too deeply to parse is a parse error, not a crash', () => {
    const error = compileError('['.repeat(100_000));
    expect(error.code).toBe('Parse Error');
    expect(error.message).toMatch(/nested too deeply/);
  });

  test('in a string template, a bad interpolation is found where it is', () => {
    const error = compileError('{{$base_url}}/x/{{ $body. }}', 'string');
    expect(error.code).toBe('Parse Error');
    expect(error.position.start_column).toBe(27);
  });
});

describe('errors when a template runs', () => {
  test('an unbound variable', () => {
    expect(runError('{"a": {{ $nope }}}').toHasura()).toEqual({
      error_code: 'Name Error',
      message: "Variable '$nope' not in scope.",
      source_position: { start_line: 0, start_column: 10, end_line: 0, end_column: 15 },
    });
  });

  test("Hasura's bad-eval example: a key the body does not have", () => {
    const error = runError('{{ $body.world }}', { $body: { hello: 'world' } });
    expect(error.code).toBe('Attribute Error');
    expect(error.detail).toBe("'Object' has no attribute 'world'.");
    expect(error.position).toMatchObject({ start_column: 9, end_column: 15 });
  });

  test.each([
    ['$x.a', { $x: 5 }, /Type Error.*expected type 'Object' with actual type 'Number'/],
    ['$x[0]', { $x: 'str' }, /Type Error.*expected type 'Array' with actual type 'String'/],
    ['$x["a"]', { $x: [1] }, /Type Error.*expected type 'Integer' with actual type 'String'/],
    ['$x[1.5]', { $x: [1, 2] }, /Type Error.*'Integer'/],
    ['$x[1]', { $x: { a: 1 } }, /Type Error.*expected type 'String' with actual type 'Number'/],
    ['$x[3]', { $x: [1] }, /Index Error.*Index 3 out of range/],
    ['{{ if $x }} 1 {{ else }} 2 {{ end }}', { $x: 'yes' }, /expected type 'Boolean' with actual type 'String'/],
    ['{{ range _, x := $x }} x {{ end }}', { $x: {} }, /expected type 'Array' with actual type 'Object'/],
    ['$x && true', { $x: 1 }, /expected type 'Boolean'/],
    ['true && $x', { $x: null }, /expected type 'Boolean' with actual type 'Null'/],
    ['1 in "abc"', {}, /expected type 'Array' with actual type 'String'/],
    ['1 in {"a": 1}', {}, /expected type 'String' with actual type 'Number'/],
    ['head($x)', { $x: [] }, /Function Error.*Empty array/],
  ])('%s', (source, bindings, message) => {
    expect(runError(source, bindings as Record<string, KValue>).message).toMatch(message);
  });

  test('a function error is reported at its argument', () => {
    const error = runError('{{ getSessionVariable "this_variable_doesnt_exist" }}');
    expect(error.toHasura()).toEqual({
      error_code: 'Function Error',
      message: 'Session variable "this_variable_doesnt_exist" not found',
      source_position: { start_line: 0, start_column: 23, end_line: 0, end_column: 51 },
    });
  });

  test('values nested too deeply to compare fail as an error of the template, not of the process', () => {
    let deep: KValue = [];
    for (let i = 0; i < 200_000; i++) deep = [deep];
    expect(runError('$x == $x', { $x: deep }).message).toMatch(/nested too deeply/);
  });
});
