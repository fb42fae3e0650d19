/** Statements that read and write trigger definitions and install their capture. */
import { statements } from './schemaText.js';

export const triggerStatements = (schema: string) =>
  statements('triggers', schema, {
    /** Serialises catalog changes of one catalog across every daemon, until the transaction ends. */
    lockCatalog: `select pg_advisory_xact_lock(hashtext('pg-event-triggers:catalog:' || $1))`,
    findTable: `
      select c.oid::int8 as oid, c.relkind
      from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
      where n.nspname = $1 and c.relname = $2`,
    tableColumns: `
      select attname from pg_catalog.pg_attribute
      where attrelid = $1::int8::oid and attnum > 0 and not attisdropped order by attnum`,
    /**
     * What CREATE TRIGGER (and ENABLE ALWAYS TRIGGER, for trigger_on_replication) will ask of the
     * daemon's role on the table, checked first so a refusal can say what to grant (PostgreSQL's own
     * message names no remedy, and its text depends on lc_messages).
     */
    tablePrivileges: `
      select current_user::text as role, o.rolname::text as owner,
             pg_catalog.has_schema_privilege(c.relnamespace, 'USAGE') as schema_usage,
             pg_catalog.has_table_privilege(c.oid, 'TRIGGER') as can_trigger,
             pg_catalog.pg_has_role(c.relowner, 'USAGE') as owns
      from pg_catalog.pg_class c join pg_catalog.pg_roles o on o.oid = c.relowner
      where c.oid = $1::int8::oid`,
    /** Triggers on the table ($1) already named as the capture triggers about to be created ($2). */
    triggersNamed: `
      select tgname::text as name from pg_catalog.pg_trigger
      where tgrelid = $1::int8::oid and tgname = any($2::text[]) order by tgname`,
    getForUpdate: `select name, id, definition from :SCHEMA.event_triggers where name = $1 for update`,
    get: `select name, id, definition from :SCHEMA.event_triggers where name = $1`,
    insert: `
      insert into :SCHEMA.event_triggers (name, schema_name, table_name, definition, table_oid)
      values ($1, $2, $3, $4::jsonb, $5::int8::oid) returning id`,
    replace: `
      update :SCHEMA.event_triggers
      set schema_name = $2, table_name = $3, definition = $4::jsonb, table_oid = $5::int8::oid, updated_at = now()
      where name = $1 returning id`,
    /**
     * Each trigger ($1: one, or null: all) with its table as it is now: found by oid (renames), else by
     * name (a dump and restore gives new oids); its columns and the capture triggers it carries. No row
     * for the table when it was dropped. trigger_states: each capture trigger on the table and on its
     * partitions (the clones PostgreSQL makes of a trigger on a partitioned table), with tgenabled:
     * O fires outside replication, A always, R only in replication, D never (DISABLE TRIGGER).
     */
    tableState: `
      select t.name, t.definition::text as definition,
             cur.schema_name as current_schema, cur.table_name as current_table,
             cur.columns, cur.triggers, cur.trigger_states
      from :SCHEMA.event_triggers t
      left join lateral (
        select n.nspname::text as schema_name, c.relname::text as table_name,
               array(select a.attname::text from pg_catalog.pg_attribute a
                     where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped) as columns,
               array(select g.tgname::text from pg_catalog.pg_trigger g
                     where g.tgrelid = c.oid and g.tgname like 'pget\\_%') as triggers,
               (select coalesce(json_agg(json_build_object(
                         'name', g.tgname, 'enabled', g.tgenabled, 'partition', g.tgrelid <> c.oid,
                         'table', pn.nspname || '.' || pc.relname) order by pn.nspname, pc.relname, g.tgname), '[]')
                -- pg_partition_tree has no row for a table that is not partitioned: the table itself.
                from (select c.oid as relid union select relid from pg_catalog.pg_partition_tree(c.oid)) p
                join pg_catalog.pg_trigger g on g.tgrelid = p.relid
                join pg_catalog.pg_class pc on pc.oid = p.relid
                join pg_catalog.pg_namespace pn on pn.oid = pc.relnamespace
                where g.tgname like 'pget\\_%') as trigger_states
        from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
        where c.relkind in ('r', 'p')
          and (c.oid = t.table_oid or (n.nspname = t.schema_name and c.relname = t.table_name))
        order by c.oid = t.table_oid desc
        limit 1
      ) cur on true
      where $1::text is null or t.name = $1
      order by t.name`,
    delete: `delete from :SCHEMA.event_triggers where name = $1`,
    listAll: `select name, id, definition::text as definition from :SCHEMA.event_triggers order by name`,
    installCapture: `select :SCHEMA.install_capture($1, $2::int8::oid::regclass, $3, $4::text[], $5::text[], $6, $7, $8::boolean)`,
    dropCapture: `select :SCHEMA.drop_capture($1)`,
    /** A deleted trigger's events are archived: kept for inspection, never delivered. */
    archiveEvents: `
      update :SCHEMA.event_log set archived = true, locked_by = null, locked_at = null
      where trigger_name = $1 and not archived`,
    notify: `select pg_notify($1, $2)`,
    /** Hasura's metadata resource_version: raised by every change of a definition (migration 9). */
    bumpResourceVersion: `update :SCHEMA.catalog_version set resource_version = resource_version + 1`,
    resourceVersion: `select resource_version from :SCHEMA.catalog_version`,
  });
