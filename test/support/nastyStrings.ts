/**
 * Strings built to break SQL and JSON handling, for the property tests: quotes, double quotes,
 * semicolons, comments, dollar quotes, backslashes, format() directives, unicode of every width, spaces,
 * and lengths around PostgreSQL's 63-byte identifier limit.
 */
import fc from 'fast-check';

/** Pieces that mean something to SQL, PL/pgSQL, format(), JSON or a shell. */
export const SQL_FRAGMENTS = [
  `'`,
  `"`,
  `""`,
  `''`,
  `;`,
  `--`,
  `/*`,
  `*/`,
  `\\`,
  `\\'`,
  `$$`,
  `$body$`,
  `$fn$`,
  `$install$`,
  `%I`,
  `%s`,
  `%L`,
  `%1$s`,
  `:SCHEMA`,
  ` `,
  `\t`,
  `\n`,
  `E'`,
  `U&"`,
  `drop table y`,
  `select pg_sleep(5)`,
  `); drop table y; --`,
  `{`,
  `}`,
  `[`,
  `,`,
  `.`,
  `é`,
  `ß`,
  `日本`,
  `🦀`,
  `\u0301`,
  `\u200b`,
  `\u00a0`,
  `Ω`,
  `NULL`,
  `*`,
] as const;

/** Strings PostgreSQL cannot hold in text, jsonb or an identifier. */
export const UNSTORABLE_STRINGS = ['\u0000', 'a\u0000b', '\ud800', 'x\udfff', '\udc00\ud800'] as const;

/** Exact-length padding: `bytes` UTF-8 bytes made of `unit` (a 1-, 2-, 3- or 4-byte character). */
export function padToBytes(prefix: string, bytes: number, unit: string): string {
  let out = prefix;
  const unitBytes = Buffer.byteLength(unit);
  while (Buffer.byteLength(out) + unitBytes <= bytes) out += unit;
  while (Buffer.byteLength(out) < bytes) out += 'a';
  return out;
}

const fragmentString = fc
  .array(fc.oneof(fc.constantFrom(...SQL_FRAGMENTS), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 4 })), {
    minLength: 1,
    maxLength: 10,
  })
  .map((parts) => parts.join(''));

/** Strings of 60 to 70 bytes made of fragments and 1- to 4-byte characters: the 63-byte edge. */
const aroundTheLimit = fc
  .tuple(fragmentString, fc.integer({ min: 60, max: 70 }), fc.constantFrom('a', 'é', '日', '🦀'))
  .map(([prefix, bytes, unit]) =>
    padToBytes(Buffer.byteLength(prefix) > 40 ? Array.from(prefix).slice(0, 10).join('') : prefix, bytes, unit),
  );

/** Any identifier an attacker or a careless user could send; non-empty. */
export const nastyIdentifier: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fragmentString },
  { weight: 2, arbitrary: aroundTheLimit },
  { weight: 1, arbitrary: fc.constantFrom(`x"; drop table y; --`, `'; drop table y; --`, `$body$; drop table y; --`) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 20 }) },
);

/** What an identifier field may receive, PostgreSQL-impossible strings included. */
export const anyIdentifierString: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: nastyIdentifier },
  { weight: 1, arbitrary: fc.constantFrom('', ...UNSTORABLE_STRINGS) },
  { weight: 1, arbitrary: fc.integer({ min: 64, max: 300 }).map((n) => 'x'.repeat(n)) },
);

/** UTF-8 length, the unit of PostgreSQL's identifier limit. */
export const byteLength = (s: string) => Buffer.byteLength(s);

/** Whether PostgreSQL can name something exactly this: 1 to 63 bytes, no NUL, no lone surrogate. */
export function isStorableIdentifier(s: string): boolean {
  return s.length > 0 && byteLength(s) <= 63 && !s.includes('\u0000') && !hasLoneSurrogate(s);
}

/** A UTF-16 surrogate without its pair: no UTF-8 encoding exists for it. */
export function hasLoneSurrogate(s: string): boolean {
  return /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s);
}
