/** The functions Hasura documents for Kriti templates, with what each does and refuses. */
import { describe, expect, test } from 'vitest';
import { compileTemplate, encodeJson, type KValue } from '../../../src/transform/kriti/index.js';

const call = (source: string, bindings: Record<string, KValue> = {}, sessionVariables: Record<string, string> | null = null) =>
  encodeJson(compileTemplate(source, 'template').run(bindings, { sessionVariables }));

describe('functions', () => {
  test.each([
    ['empty({})', 'true'],
    ['empty({"a": 1})', 'false'],
    ['empty([])', 'true'],
    ['empty("  ")', 'true'],
    ['empty("a")', 'false'],
    ['empty(0)', 'true'],
    ['empty(0.0)', 'true'],
    ['empty(1)', 'false'],
    ['empty(null)', 'true'],
    ['length([1, 2, 3])', '3'],
    ['size([1, 2, 3])', '3'],
    ['length("héllo😀")', '6'],
    ['length({"a": 1, "b": 2})', '2'],
    ['length(7.5)', '7.5'],
    ['length(true)', '1'],
    ['length(null)', '0'],
    ['inverse([1, 2, 3])', '[3,2,1]'],
    ['inverse("abc😀")', '"😀cba"'],
    ['inverse(4)', '0.25'],
    ['inverse(true)', 'false'],
    ['inverse(null)', 'null'],
    ['inverse({"a": 1})', '{"a":1}'],
    ['head([1, 2, 3])', '1'],
    ['head("😀bc")', '"😀"'],
    ['tail([1, 2, 3])', '[2,3]'],
    ['tail("abc")', '"bc"'],
    ['toCaseFold("Straße")', '"strasse"'],
    ['toLower("HeLLo")', '"hello"'],
    ['toUpper("HeLLo")', '"HELLO"'],
    ['toTitle("hELLO wORLD")', '"Hello World"'],
    ['toTitle("it\'s o\'neil")', '"It\'S O\'Neil"'],
    ['escapeUri("a b&c/d?e=é!*\'()~._-")', '"a%20b%26c%2Fd%3Fe%3D%C3%A9%21%2A%27%28%29~._-"'],
    ['fromPairs([["a", 1], ["b", [2]], ["a", 3]])', '{"a":3,"b":[2]}'],
    ['toPairs({"a": 1, "b": null})', '[["a",1],["b",null]]'],
    ['removeNulls([1, null, 2, null])', '[1,2]'],
    ['concat([[1, 2], [3], []])', '[1,2,3]'],
    ['concat(["a", "b", "c"])', '"abc"'],
    ['concat([{"a": 1, "b": 1}, {"b": 2, "c": 3}])', '{"a":1,"b":2,"c":3}'],
    ['concat([])', '[]'],
    ['not(false)', 'true'],
  ])('%s is %s', (source, expected) => {
    expect(call(`{{ ${source} }}`)).toBe(expected);
  });

  test('getSessionVariable reads the session variables, case-insensitively; null gives null', () => {
    const session = { 'x-hasura-role': 'user', 'x-hasura-user-id': '42' };
    expect(call('{{ getSessionVariable("x-hasura-role") }}', {}, session)).toBe('"user"');
    expect(call('{{ getSessionVariable "X-Hasura-User-Id" }}', {}, session)).toBe('"42"');
    expect(call('{{ getSessionVariable(null) }}', {}, session)).toBe('null');
  });

  test.each([
    ['empty(true)', 'Cannot define emptiness for a boolean'],
    ['head([])', 'Empty array'],
    ['head("")', 'Empty string'],
    ['head(1)', 'Expected an array or string'],
    ['tail([])', 'Empty array'],
    ['toUpper(1)', 'toUpper: expected a String, got Number'],
    ['fromPairs([["a"]])', 'Expected an array of shape [ [k1,v1], [k2,v2] ... ] - With String keys.'],
    ['fromPairs([[1, 2]])', 'With String keys'],
    ['toPairs([1])', 'toPairs: expected an Object, got Array'],
    ['removeNulls({})', 'removeNulls: expected an Array, got Object'],
    ['concat([[1], "a"])', 'concat: expected an Array of Arrays, of Strings or of Objects'],
    ['not(1)', 'not: expected a Boolean, got Number'],
    ['inverse(0)', 'division by zero'],
    ['escapeUri("\\ud800")', 'unpaired UTF-16 surrogate'],
    ['getSessionVariable("x-nope")', 'Session variable "x-nope" not found'],
    ['getSessionVariable(1)', 'Session variable name should be a string'],
  ])('%s fails: %s', (source, message) => {
    expect(() => call(`{{ ${source} }}`, {}, {})).toThrow(message);
  });

  test('getSessionVariable without session variables: not found', () => {
    expect(() => call('{{ getSessionVariable("x-hasura-role") }}')).toThrow('Session variable "x-hasura-role" not found');
  });
});
