/**
 * Everything an operation may change, read back from PostgreSQL: trigger definitions, events and their
 * invocation logs, the SQL triggers on user tables (which operations, which columns, enabled how, their
 * whole definition) and the capture functions (by their source, not only their names). Equal snapshots
 * before and after a refused request prove it changed nothing.
 */
import type pg from 'pg';

export async function catalogSnapshot(pool: pg.Pool, schema = 'event_triggers'): Promise<unknown> {
  const definitions = await pool.query(`select name, id, definition::text from ${schema}.event_triggers order by name`);
  const events = await pool.query(
    `select id, trigger_name, schema_name, table_name, md5(payload::text) as payload, tries, delivered, error, archived,
            locked_by, next_retry_at
     from ${schema}.event_log order by id`,
  );
  const invocationLogs = await pool.query(
    `select event_id, trigger_name, count(*)::int as n, md5(string_agg(id::text, ',' order by id)) as ids
     from ${schema}.event_invocation_logs group by event_id, trigger_name order by event_id, trigger_name`,
  );
  const triggers = await pool.query(`
    select t.tgrelid::regclass::text as relation, t.tgname, t.tgenabled, t.tgtype, t.tgattr::text as tgattr,
           t.tgfoid::regprocedure::text as function, md5(pg_get_triggerdef(t.oid)) as definition
    from pg_trigger t where not t.tgisinternal order by 1, 2`);
  const functions = await pool.query(
    `select p.oid::regprocedure::text as signature, md5(p.prosrc) as source, p.prosecdef, p.proconfig
     from pg_proc p where p.pronamespace = $1::regnamespace and p.proname like 'pget\\_%' order by 1`,
    [schema],
  );
  const cleanups = await pool.query(
    `select trigger_name, scheduled_at, status, deleted_event_logs, deleted_event_invocation_logs
     from ${schema}.event_log_cleanups order by trigger_name, scheduled_at`,
  );
  return {
    definitions: definitions.rows,
    cleanups: cleanups.rows,
    events: events.rows,
    invocationLogs: invocationLogs.rows,
    triggers: triggers.rows,
    functions: functions.rows,
  };
}
