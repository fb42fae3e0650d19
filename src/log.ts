/**
 * The daemon's logger (pino): JSON lines on stdout, or readable lines when stdout is a terminal
 * (LOG_FORMAT decides otherwise). Secrets never reach it (see redact).
 */
import { pino, type Logger } from 'pino';
import { prettyStream } from './prettyLog.js';

export type LogFormat = 'auto' | 'json' | 'pretty';

export function createLogger(level: string, format: LogFormat = 'auto', out: NodeJS.WriteStream = process.stdout): Logger {
  const options = {
    level,
    base: { service: 'pg-event-triggers' },
    redact: {
      paths: ['adminSecret', 'config.adminSecret', 'headers["x-hasura-admin-secret"]', 'headers.authorization'],
      censor: '[redacted]',
    },
  };
  const pretty = format === 'pretty' || (format === 'auto' && out.isTTY === true);
  if (!pretty) return pino(options);
  return pino(options, prettyStream(out, out.isTTY === true && !process.env.NO_COLOR));
}
