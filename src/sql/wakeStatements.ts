/**
 * Statements of the wake lock (see migration 3 and src/delivery/wakeLock.ts): a daemon holds it while it
 * sleeps until NOTIFY, so that capture sends NOTIFY only then.
 */
import { statements } from './schemaText.js';

export const wakeStatements = (schema: string) =>
  statements('wake', schema, {
    /**
     * Takes the lock without waiting. Refused while a capturing transaction holds it shared (it will
     * commit in a moment) or while another daemon holds it (that daemon sleeps until NOTIFY, so NOTIFYs
     * are sent, and every daemon LISTENs): heldByAnother tells the two apart.
     */
    hold: `
      select pg_try_advisory_lock(:SCHEMA.wake_lock_class(), 0) as held,
             exists (
               select 1 from pg_catalog.pg_locks l
               where l.locktype = 'advisory' and l.mode = 'ExclusiveLock' and l.granted
                 and l.database = (select oid from pg_catalog.pg_database where datname = current_database())
                 and l.classid = :SCHEMA.wake_lock_class()::oid and l.objid = 0 and l.objsubid = 2
                 and l.pid <> pg_backend_pid()
             ) as held_by_another`,
    release: `select pg_advisory_unlock(:SCHEMA.wake_lock_class(), 0)`,
  });
