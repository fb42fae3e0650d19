/**
 * Everything an operation may change, read back from PostgreSQL: trigger definitions, events, the SQL
 * triggers on user tables and the capture functions. Equal snapshots before and after a refused
 * request prove it changed nothing.
 */
import type pg from 'pg';

export async function catalogSnapshot(pool: pg.Pool, schema = 'event_triggers'): Promise<unknown> {
  const definitions = await pool.query(`select name, id, definition::text from ${schema}.event_triggers order by name`);
  const events = await pool.query(
    `select id, trigger_name, tries, delivered, error, archived from ${schema}.event_log order by id`,
  );
  const triggers = await pool.query(`
    select c.relname, t.tgname, t.tgenabled from pg_trigger t join pg_class c on c.oid = t.tgrelid
    where not t.tgisinternal order by 1, 2`);
  const functions = await pool.query(
    `select proname from pg_proc where pronamespace = $1::regnamespace and proname like 'pget\\_%' order by 1`,
    [schema],
  );
  return { definitions: definitions.rows, events: events.rows, triggers: triggers.rows, functions: functions.rows };
}
