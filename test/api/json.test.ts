import { describe, expect, test } from 'vitest';
import { parseJson, RawJson, serializeResponse, stringifyParsed } from '../../src/api/json.js';

describe('lossless JSON', () => {
  test('a bigint in a request survives parse and re-serialisation digit for digit', () => {
    const parsed = parseJson('{"id": 50755254975729665, "price": 1.5, "huge": 1e400}');
    expect(stringifyParsed(parsed)).toBe('{"id":50755254975729665,"price":1.5,"huge":1e400}');
  });

  test('raw JSON from PostgreSQL is embedded verbatim in a response', () => {
    const out = serializeResponse({ events: new RawJson('[{"n": 50755254975729665}]'), ok: true });
    expect(out).toBe('{"events":[{"n": 50755254975729665}],"ok":true}');
  });

  test('a string that looks like a marker stays a string', () => {
    const sneaky = '\u00000\u0000';
    const out = serializeResponse([new RawJson('1'), sneaky, '\u0000deadbeef:0\u0000']);
    expect(JSON.parse(out)).toEqual([1, sneaky, '\u0000deadbeef:0\u0000']);
  });

  test('malformed JSON is refused with a SyntaxError that says where, trailing garbage included', () => {
    const cases: Array<[string, number]> = [
      ['{"a":', 5],
      ['', 0],
      ['[1,', 3],
      ['{"a" 1}', 5],
      ['{"a":1}x', 7],
      ['01', 1],
    ];
    for (const [text, position] of cases) {
      expect(() => parseJson(text), JSON.stringify(text)).toThrow(SyntaxError);
      expect(() => parseJson(text), JSON.stringify(text)).toThrow(new RegExp(`position ${position}$`));
    }
  });
});
