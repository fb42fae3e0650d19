/**
 * JSON text for fuzzing, including what JSON.stringify cannot write: numbers beyond a double
 * (123456789012345678901234567890, 1e400), duplicate keys, arbitrary raw fragments (deep nesting,
 * truncated text). Plain values are written as JSON.stringify writes them.
 */

/** A fragment spliced into the JSON text verbatim. */
export class RawText {
  constructor(readonly text: string) {}
}

/** An object written with these entries in order, duplicate keys included. */
export class DupObject {
  constructor(readonly entries: ReadonlyArray<readonly [string, unknown]>) {}
}

export function toJsonText(value: unknown): string {
  if (value instanceof RawText) return value.text;
  if (value instanceof DupObject) {
    return `{${value.entries.map(([k, v]) => `${JSON.stringify(k)}:${toJsonText(v)}`).join(',')}}`;
  }
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : toJsonText(v))).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const parts: string[] = [];
    for (const [k, v] of Object.entries(value)) {
      if (v !== undefined) parts.push(`${JSON.stringify(k)}:${toJsonText(v)}`);
    }
    return `{${parts.join(',')}}`;
  }
  if (typeof value === 'number' && !Number.isFinite(value)) return 'null';
  return JSON.stringify(value) ?? 'null';
}

/** Nested arrays or objects `depth` levels deep, built without recursion. */
export function deeplyNested(depth: number, kind: 'array' | 'object', leaf = '1'): RawText {
  if (kind === 'array') return new RawText('['.repeat(depth) + leaf + ']'.repeat(depth));
  return new RawText('{"a":'.repeat(depth) + leaf + '}'.repeat(depth));
}
