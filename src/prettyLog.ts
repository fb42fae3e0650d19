/**
 * The log as a person reads it on a terminal: one line per entry, `time LEVEL message key=value ...`,
 * an error's stack below it. pino writes JSON lines into this stream, which rewrites each one; anything
 * that is not a pino line passes through as it is.
 */

const LEVELS: Record<number, { name: string; color: string }> = {
  10: { name: 'TRACE', color: '\x1b[90m' },
  20: { name: 'DEBUG', color: '\x1b[90m' },
  30: { name: 'INFO', color: '\x1b[32m' },
  40: { name: 'WARN', color: '\x1b[33m' },
  50: { name: 'ERROR', color: '\x1b[31m' },
  60: { name: 'FATAL', color: '\x1b[41m' },
};
const RESET = '\x1b[0m';
const DIM = '\x1b[2m';

/** Keys every line has, shown in their own place or not at all. */
const FRAME = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'service', 'err']);

/** One pino JSON line as a readable line (colored when `color`). */
export function prettyLine(json: string, color: boolean): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  if (typeof entry.level !== 'number' || typeof entry.time !== 'number') return json;
  const paint = (code: string, text: string) => (color ? `${code}${text}${RESET}` : text);
  const level = LEVELS[entry.level] ?? { name: String(entry.level), color: '' };
  const time = new Date(entry.time).toISOString().slice(11, 23);
  const fields = Object.entries(entry)
    .filter(([key]) => !FRAME.has(key))
    .map(([key, value]) => `${key}=${typeof value === 'string' && !/\s/.test(value) ? value : JSON.stringify(value)}`);
  const head = [
    paint(DIM, time),
    paint(level.color, level.name.padEnd(5)),
    typeof entry.msg === 'string' ? entry.msg : JSON.stringify(entry.msg ?? ''),
    ...fields.map((f) => paint(DIM, f)),
  ];
  const err = entry.err as { stack?: string; message?: string } | undefined;
  const stack = err?.stack ?? err?.message;
  return stack ? `${head.join(' ')}\n    ${stack.split('\n').join('\n    ')}` : head.join(' ');
}

/** A destination for pino that writes each entry to `out` as prettyLine renders it. */
export function prettyStream(out: NodeJS.WritableStream, color: boolean): { write(chunk: string): void } {
  return {
    write(chunk: string) {
      for (const line of chunk.split('\n')) if (line !== '') out.write(`${prettyLine(line, color)}\n`);
    },
  };
}
