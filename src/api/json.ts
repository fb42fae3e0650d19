/**
 * JSON in and out of the API without losing a digit. Requests are parsed so that numbers a double
 * cannot hold (bigints such as 50755254975729665) stay exact; responses may embed JSON text produced
 * by PostgreSQL (event payloads) verbatim, never re-encoded.
 */
import { randomBytes } from 'node:crypto';
import { isSafeNumber, LosslessNumber, parse, stringify } from 'lossless-json';

/** JSON text to embed as-is in a response (e.g. a payload rendered by PostgreSQL). */
export class RawJson {
  constructor(readonly text: string) {}
}

/** Parses a request body; throws SyntaxError on malformed JSON. */
export function parseJson(text: string): unknown {
  return parse(text, null, (n) => (isSafeNumber(n) ? Number(n) : new LosslessNumber(n)));
}

/** Serialises a value parsed by parseJson back to JSON text, unsafe numbers digit for digit. */
export function stringifyParsed(value: unknown): string {
  return stringify(value) ?? 'null';
}

export function isLossless(value: unknown): value is LosslessNumber {
  return value instanceof LosslessNumber;
}

/**
 * Serialises a response; RawJson values are spliced in verbatim. Each is first replaced by a marker
 * string carrying a random nonce (JSON.stringify renders its NUL delimiters as \u0000), so no string
 * in the data can pass for a marker.
 */
export function serializeResponse(value: unknown): string {
  const raws: string[] = [];
  const nonce = randomBytes(8).toString('hex');
  const text = JSON.stringify(value, (_key, v: unknown) => {
    if (v instanceof RawJson) return `\u0000${nonce}:${raws.push(v.text) - 1}\u0000`;
    if (v instanceof LosslessNumber) return `\u0000${nonce}:${raws.push(v.value) - 1}\u0000`;
    return v;
  });
  if (raws.length === 0) return text;
  const marker = new RegExp(`"\\\\u0000${nonce}:(\\d+)\\\\u0000"`, 'g');
  return text.replace(marker, (_m, i: string) => raws[Number(i)]!);
}

/**
 * JSON text with every object's keys in order, so that two values equal as JSON (a definition as given
 * and as jsonb returns it, keys reordered) give the same text.
 */
export function canonicalJson(value: unknown): string {
  return stringifyParsed(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object' || isLossless(value)) return value;
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
  return Object.fromEntries(entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => [k, sortKeys(v)]));
}
