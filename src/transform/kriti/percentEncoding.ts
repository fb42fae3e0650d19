/**
 * Percent-encoding as Hasura does it everywhere a transform escapes text (Kriti's escapeUri, form
 * bodies, query strings): every UTF-8 byte except the unreserved characters A-Z a-z 0-9 - _ . ~ becomes
 * %XX, upper-case. encodeURIComponent leaves ! ' ( ) * as they are; Hasura does not.
 */

const RESERVED_BY_HASURA = /[!'()*]/g;

/** The encoded text, or undefined when it holds an unpaired UTF-16 surrogate (no UTF-8 for it). */
export function encodePercent(text: string): string | undefined {
  try {
    return encodeURIComponent(text).replace(RESERVED_BY_HASURA, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  } catch {
    return undefined;
  }
}

/**
 * Decodes a query-string component as http-types' urlDecode does for queries: "+" is a space, %XX a
 * byte; a "%" not followed by two hex digits stays as it is, and bytes that are not UTF-8 become U+FFFD.
 */
export function decodeQueryComponent(text: string): string {
  const bytes: number[] = [];
  const source = Buffer.from(text, 'utf8');
  for (let i = 0; i < source.length; i++) {
    const b = source[i]!;
    if (b === 0x2b) {
      bytes.push(0x20);
    } else if (b === 0x25 && i + 2 < source.length && isHex(source[i + 1]!) && isHex(source[i + 2]!)) {
      bytes.push(parseInt(String.fromCharCode(source[i + 1]!, source[i + 2]!), 16));
      i += 2;
    } else {
      bytes.push(b);
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

const isHex = (b: number) => (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66);
