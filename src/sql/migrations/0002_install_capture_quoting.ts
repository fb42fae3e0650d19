/**
 * install_capture without a dollar-quoted function body; everything else is as in version 1.
 *
 * Version 1 wrote each capture function as `AS $body$ ... $body$`, with the payload columns inside the
 * body as a literal. A payload column whose name contains "$body$" ended the body early: with the
 * default check_function_bodies = on, CREATE FUNCTION failed and create_event_trigger answered 500; with
 * check_function_bodies = off, what followed in the column's name ran as SQL with the daemon's
 * privileges (a column named `$body$; DROP TABLE y; SELECT $body$` dropped table y). Found by
 * test/properties/identifiers.test.ts. The body is now built first and passed as a quoted literal
 * (format's %L), which no identifier can end.
 */
export const installCaptureQuotingMigration = String.raw`
create or replace function :SCHEMA.install_capture(
  trigger_name text, tbl regclass, op text, listen_columns text[], payload_columns text[], channel text,
  fire_on_replication boolean
) returns void
language plpgsql as $install$
declare
  fn_name text := 'pget_' || trigger_name || '_' || op;
  tbl_schema text;
  tbl_name text;
  row_image_old text := 'NULL';
  row_image_new text := 'NULL';
  skip_unchanged text := '';
  when_clause text := '';
  tbl_kind "char";
  -- The event names the table as it is called when the row changes, so renames are followed. A row of
  -- a partitioned table is captured under the partitioned (root) table, not the partition.
  name_lookup text := '';
  name_values text := 'TG_TABLE_SCHEMA, TG_TABLE_NAME';
  body text;
begin
  select n.nspname, c.relname, c.relkind into tbl_schema, tbl_name, tbl_kind
  from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace where c.oid = tbl;
  if tbl_kind = 'p' then
    name_lookup := 'SELECT n.nspname, c.relname INTO _schema, _table FROM pg_class c '
      || 'JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = pg_partition_root(TG_RELID);';
    name_values := '_schema, _table';
  end if;

  if op in ('UPDATE', 'DELETE') then row_image_old := '_old'; end if;
  if op in ('INSERT', 'UPDATE') then row_image_new := '_new'; end if;
  if payload_columns is not null then
    if row_image_old <> 'NULL' then
      row_image_old := format('%I.pick_columns(_old, %L::text[])', ':SCHEMA_NAME', payload_columns);
    end if;
    if row_image_new <> 'NULL' then
      row_image_new := format('%I.pick_columns(_new, %L::text[])', ':SCHEMA_NAME', payload_columns);
    end if;
  end if;

  if op = 'UPDATE' then
    if listen_columns is null then
      -- "*": every column is listened to; an UPDATE that changes nothing fires nothing.
      skip_unchanged := 'IF _old = _new THEN RETURN NULL; END IF;';
    else
      select ' WHEN (' || string_agg(:SCHEMA.column_changed_expr(tbl, c), ' OR ') || ')'
      into when_clause from unnest(listen_columns) as c;
    end if;
  end if;

  -- The body is built first, then given to CREATE FUNCTION as a quoted literal (%L): no name in it can
  -- end a dollar quote early (see the comment at the top of this file).
  body := format($fn$
    DECLARE
      _old jsonb;
      _new jsonb;
      _schema name;
      _table name;
    BEGIN
      IF TG_OP <> 'INSERT' THEN _old := to_jsonb(OLD); END IF;
      IF TG_OP <> 'DELETE' THEN _new := to_jsonb(NEW); END IF;
      %3$s
      %4$s
      INSERT INTO %1$I.event_log (schema_name, table_name, trigger_name, payload)
      VALUES (%5$s, %6$L, jsonb_build_object('op', %7$L,
        'data', jsonb_build_object('old', %8$s, 'new', %9$s)));
      -- A wake-up, not the data: identical notifications in one transaction are delivered once.
      PERFORM pg_notify(%10$L, '');
      RETURN NULL;
    END
  $fn$, ':SCHEMA_NAME', fn_name, skip_unchanged, name_lookup, name_values, trigger_name, op,
        row_image_old, row_image_new, channel);
  execute format('CREATE OR REPLACE FUNCTION %I.%I() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER '
    || 'SET search_path = pg_catalog, pg_temp AS %L', ':SCHEMA_NAME', fn_name, body);

  execute format('CREATE TRIGGER %I AFTER %s ON %I.%I FOR EACH ROW%s EXECUTE FUNCTION %I.%I()',
    fn_name, op, tbl_schema, tbl_name, when_clause, ':SCHEMA_NAME', fn_name);
  if fire_on_replication then
    execute format('ALTER TABLE %I.%I ENABLE ALWAYS TRIGGER %I', tbl_schema, tbl_name, fn_name);
  end if;
end
$install$;
`;
