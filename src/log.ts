/** The daemon's logger: JSON lines on stdout (pino). Secrets never reach it (see redact). */
import { pino, type Logger } from 'pino';

export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'pg-event-triggers' },
    redact: {
      paths: ['adminSecret', 'config.adminSecret', 'headers["x-hasura-admin-secret"]', 'headers.authorization'],
      censor: '[redacted]',
    },
  });
}
