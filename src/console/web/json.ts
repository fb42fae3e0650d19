/**
 * JSON in the browser without losing a digit: payloads hold bigints (50755254975729665) that a double
 * would round, and a person copying a payload must get what was sent. Numbers with more significant
 * digits than a double keeps are kept as their source text (JSON.parse's source access).
 */

/** A number kept as the text it was written as. */
export class ExactNumber {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

/** Digits a double always keeps. */
const SAFE_DIGITS = 15;

type Reviver = (this: unknown, key: string, value: unknown, context?: { source?: string }) => unknown;

const keepDigits: Reviver = (_key, value, context) => {
  if (typeof value !== 'number' || context?.source === undefined) return value;
  const digits = context.source
    .replace(/^-/, '')
    .replace(/[eE].*$/, '')
    .replace('.', '')
    .replace(/^0+/, '');
  return digits.length > SAFE_DIGITS ? new ExactNumber(context.source) : value;
};

export function parseExact(text: string): unknown {
  return (JSON.parse as (text: string, reviver: Reviver) => unknown)(text, keepDigits);
}

/** JSON text of a value parsed by parseExact, exact numbers as written; indented when `indent` is given. */
export function stringifyExact(value: unknown, indent = ''): string {
  const parts: string[] = [];
  const write = (v: unknown, depth: string) => {
    if (v instanceof ExactNumber) return void parts.push(v.text);
    if (v === null || typeof v !== 'object') return void parts.push(JSON.stringify(v) ?? 'null');
    const inner = indent ? `${depth}${indent}` : '';
    const open = Array.isArray(v) ? '[' : '{';
    const close = Array.isArray(v) ? ']' : '}';
    const entries: Array<[string | undefined, unknown]> = Array.isArray(v)
      ? v.map((item: unknown) => [undefined, item])
      : Object.entries(v as Record<string, unknown>);
    if (entries.length === 0) return void parts.push(`${open}${close}`);
    parts.push(open);
    entries.forEach(([key, item], i) => {
      if (i > 0) parts.push(',');
      if (indent) parts.push(`\n${inner}`);
      if (key !== undefined) parts.push(`${JSON.stringify(key)}:${indent ? ' ' : ''}`);
      write(item, inner);
    });
    if (indent) parts.push(`\n${depth}`);
    parts.push(close);
  };
  write(value, '');
  return parts.join('');
}

export const prettyJson = (value: unknown) => stringifyExact(value, '  ');

/** Bytes as a person reads them: 812 B, 4.2 kB, 1.0 MB. */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  if (bytes < 1_000_000) return `${(bytes / 1000).toFixed(1)} kB`;
  return `${(bytes / 1_000_000).toFixed(1)} MB`;
}
