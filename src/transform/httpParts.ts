/**
 * The parts of an HTTP request a transform rewrites, handled as Hasura handles them: query strings
 * (http-types' parseQuery and renderQuery), form bodies, URLs without their query, header lists.
 */
import { decodeQueryComponent, encodePercent } from './kriti/index.js';

/** A query parameter: its key, and its value (null for a key with no "="). */
export type QueryPair = readonly [string, string | null];

/** Splits a query string ("?" optional) into its parameters; "&" and ";" separate them, "+" is a space. */
export function parseQuery(query: string): QueryPair[] {
  const text = query.startsWith('?') ? query.slice(1) : query;
  return text
    .split(/[&;]/)
    .filter((part) => part !== '')
    .map((part) => {
      const eq = part.indexOf('=');
      if (eq === -1) return [decodeQueryComponent(part), null] as const;
      return [decodeQueryComponent(part.slice(0, eq)), decodeQueryComponent(part.slice(eq + 1))] as const;
    });
}

/** The query string of parameters, without "?"; every character but A-Z a-z 0-9 - _ . ~ percent-encoded. */
export function renderQuery(pairs: readonly QueryPair[]): string {
  return pairs.map(([key, value]) => (value === null ? encode(key) : `${encode(key)}=${encode(value)}`)).join('&');
}

/** An application/x-www-form-urlencoded body, encoded as Hasura does (spaces as %20). */
export function encodeForm(fields: ReadonlyArray<readonly [string, string]>): string {
  return fields.map(([key, value]) => `${encode(key)}=${encode(value)}`).join('&');
}

/** Text with an unpaired surrogate cannot be UTF-8; it is sent with U+FFFD in its place. */
const encode = (text: string): string => encodePercent(text) ?? encodePercent(text.replace(LONE_SURROGATE, '\uFFFD'))!;

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** A URL without its query and fragment, and its query (without "?"), as written. */
export function splitUrl(url: string): { base: string; query: string } {
  const end = url.search(/[?#]/);
  if (end === -1) return { base: url, query: '' };
  const base = url.slice(0, end);
  if (url[end] === '#') return { base, query: '' };
  const hash = url.indexOf('#', end);
  return { base, query: url.slice(end + 1, hash === -1 ? undefined : hash) };
}

/** What a transform does to the headers: names (lower-cased) to remove, then headers to set. */
export interface HeaderEdits {
  remove: ReadonlySet<string>;
  set: ReadonlyArray<readonly [string, string]>;
}

/**
 * Applies header edits to a list: removes the named headers and those about to be set (a header set
 * replaces any of its name, whatever the case), then appends the new ones in order (the last of a name
 * set twice wins).
 */
export function editHeaders<T>(
  list: readonly T[],
  edits: HeaderEdits,
  nameOf: (header: T) => string,
  make: (name: string, value: string) => T,
): T[] {
  const added = new Map<string, readonly [string, string]>();
  for (const header of edits.set) {
    added.delete(header[0].toLowerCase());
    added.set(header[0].toLowerCase(), header);
  }
  const kept = list.filter((h) => {
    const name = nameOf(h).toLowerCase();
    return !edits.remove.has(name) && !added.has(name);
  });
  return [...kept, ...[...added.values()].map(([name, value]) => make(name, value))];
}
