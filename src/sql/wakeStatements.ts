/**
 * Statements of the wake lock (see enqueue_event in migration 5, and src/delivery/wakeLock.ts): a daemon holds it while it
 * sleeps until NOTIFY, so that capture sends NOTIFY only then.
 */
import { statements } from './schemaText.js';

export const wakeStatements = (schema: string) =>
  statements('wake', schema, {
    /**
     * Waits for the lock: granted once no capturing transaction holds it shared and no other daemon
     * holds it. While this waits, capture's shared try fails, so capture sends NOTIFY.
     */
    hold: `select pg_advisory_lock(:SCHEMA.wake_lock_class(), 0)`,
    unlock: `select pg_advisory_unlock(:SCHEMA.wake_lock_class(), 0)`,
    /** PostgreSQL 14 and later; before, an unknown setting (ignored: the caller gives up nothing by it). */
    checkClientWhileWaiting: `set client_connection_check_interval = 1000`,
  });
