/**
 * Kriti's properties over random inputs: values pass through templates unchanged, JSON is a template of
 * itself, numbers compare as numbers, and no template, however malformed, fails other than with a
 * KritiError.
 */
import fc from 'fast-check';
import { isLosslessNumber, LosslessNumber, stringify } from 'lossless-json';
import { describe, expect, test } from 'vitest';
import { compileTemplate, encodeJson, encodePercent, KritiError, parseExact, type KValue } from '../../../src/transform/kriti/index.js';
import { testSeed } from '../../support/seed.js';

fc.configureGlobal({ ...fc.readConfigureGlobal(), seed: testSeed('Kriti properties (fast-check)', 'FC_SEED', 515151) });

const bodyTemplate = compileTemplate('{{$body}}', 'template');

/** JSON values as the payload parser gives them: every number a LosslessNumber with its text. */
const exactJson: fc.Arbitrary<KValue> = fc.jsonValue().map((v) => parseExact(JSON.stringify(v)));

/** Text, weighted towards what templates treat specially (fast-check's 'binary' unit is slow to draw). */
const someText = fc.string({
  unit: fc.oneof(
    fc.constantFrom('{', '}', '"', "'", '\\', '#', '\n', 'é', '😀', '\u2028', '\ud800'),
    fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }),
  ),
});

/** JSON text whose strings hold no "{{" (which would be an interpolation in a template). */
const templateFreeJson = fc.jsonValue().filter((v) => !JSON.stringify(v).includes('{{'));

describe('Kriti properties', () => {
  test('any JSON value rendered through {{$body}} comes back the same, every digit kept', () => {
    fc.assert(
      fc.property(exactJson, (value) => {
        const out = bodyTemplate.run({ $body: value });
        expect(out).toBe(value);
        expect(encodeJson(out)).toBe(stringify(value));
      }),
      { numRuns: 300 },
    );
  });

  test('any JSON document is a template that renders to itself', () => {
    fc.assert(
      fc.property(templateFreeJson, (value) => {
        const text = JSON.stringify(value);
        expect(encodeJson(compileTemplate(text, 'template').run({}))).toBe(text);
      }),
      { numRuns: 300 },
    );
  });

  test('text without "{{" is a string template of itself', () => {
    fc.assert(
      fc.property(
        someText.filter((s) => !s.includes('{{')),
        (text) => {
          expect(compileTemplate(text, 'string').run({})).toBe(text);
        },
      ),
    );
  });

  test('interpolating a string into a string template inserts it as it is', () => {
    const template = compileTemplate('<{{ $s }}>', 'string');
    fc.assert(
      fc.property(someText, (s) => {
        expect(template.run({ $s: s })).toBe(`<${s}>`);
      }),
    );
  });

  test('comparisons agree with the numbers, whatever their notation', () => {
    const compare = compileTemplate('[$a < $b, $a == $b, $a > $b]', 'template');
    const notations = (n: number) => fc.constantFrom<KValue>(n, new LosslessNumber(String(n)), new LosslessNumber(n.toExponential()));
    fc.assert(
      fc.property(
        fc
          .double({ noNaN: true, noDefaultInfinity: true })
          .chain((a) => fc.tuple(notations(a), fc.double({ noNaN: true, noDefaultInfinity: true }).chain(notations))),
        ([a, b]) => {
          const x = Number(isLosslessNumber(a) ? a.value : a);
          const y = Number(isLosslessNumber(b) ? b.value : b);
          expect(compare.run({ $a: a, $b: b })).toEqual([x < y, x === y, x > y]);
        },
      ),
      { numRuns: 500 },
    );
  });

  test('escapeUri output decodes back to its input and holds only unreserved characters and %XX', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (s) => {
        const escaped = encodePercent(s)!;
        expect(escaped).toMatch(/^(?:[A-Za-z0-9\-_.~]|%[0-9A-F]{2})*$/);
        expect(decodeURIComponent(escaped)).toBe(s);
      }),
    );
  });

  test('a malformed template fails with a KritiError, never with anything else', () => {
    const fragment = fc.constantFrom(
      '{{',
      '}}',
      '{',
      '}',
      '[',
      ']',
      '(',
      ')',
      '"',
      "'",
      ',',
      ':',
      ':=',
      '.',
      '?.',
      '?[',
      '??',
      '==',
      '>',
      '<=',
      '&&',
      '||',
      '$body',
      '$body.a',
      'x',
      '_',
      'if',
      'elif',
      'else',
      'end',
      'range',
      'in',
      'true',
      'null',
      '1',
      '-2.5',
      'head',
      'concat',
      'not',
      'getSessionVariable',
      ' ',
      '\n',
      '#',
      '\\',
      'é',
    );
    const body = parseExact('{"a": [1, {"b": null}], "c": "x"}');
    fc.assert(
      fc.property(fc.array(fragment, { maxLength: 25 }), fc.constantFrom<'template' | 'string'>('template', 'string'), (parts, mode) => {
        const source = parts.join('');
        try {
          compileTemplate(source, mode).run({ $body: body });
        } catch (error) {
          if (!(error instanceof KritiError)) throw error;
        }
      }),
      { numRuns: 2000 },
    );
  });
});
