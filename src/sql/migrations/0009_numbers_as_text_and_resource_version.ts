/**
 * Numeric column values as JSON strings, per trigger (`stringify_numeric_types`), and the catalog's
 * resource version for export_metadata and replace_metadata. Every capture function is then rebuilt from
 * its stored definition, as migration 5 did.
 *
 * Hasura renders bigint, numeric, double precision and money columns as JSON strings when its server runs
 * with HASURA_GRAPHQL_STRINGIFY_NUMERIC_TYPES (toJSONableExp, isBigNum), so a JavaScript handler never
 * loses a digit; otherwise as JSON numbers, as PostgreSQL writes them. A trigger with
 * stringify_numeric_types true captures the former: its capture function passes each row image through
 * stringify_numbers, which looks the table's column types up when the row changes, so a column added or
 * retyped later is rendered by its type then (Hasura regenerates its trigger functions on DDL instead).
 * The function is SECURITY INVOKER and reads only pg_attribute, which every role may read.
 *
 * define_capture gains the parameter (the 5-argument one is dropped: only install_capture called it), and
 * install_capture a variant with it; the 7-argument install_capture stays, with numbers as numbers, for
 * daemons of an earlier version still running during an upgrade.
 *
 * catalog_version.resource_version counts the changes of the trigger definitions, as Hasura's metadata
 * resource_version does: export_metadata (version 2) answers it, and replace_metadata refuses to apply
 * over a newer one.
 */
export const numbersAsTextAndResourceVersionMigration = String.raw`
create table :SCHEMA.catalog_version (
  -- The one row's key: there is exactly one.
  id boolean primary key default true check (id),
  -- Raised by every change of a trigger definition (create, replace, delete).
  resource_version bigint not null
);
insert into :SCHEMA.catalog_version (resource_version) values (1);

-- A row image with the values of its bigint, numeric, double precision and money columns as JSON strings
-- (PostgreSQL's text for them). Values that are not JSON numbers (null, NaN, money's text) stay as they are.
create function :SCHEMA.stringify_numbers(image jsonb, rel oid) returns jsonb
language plpgsql stable security invoker set search_path = pg_catalog, pg_temp as $$
declare
  textual jsonb;
begin
  select jsonb_object_agg(a.attname, to_jsonb(image ->> a.attname::text)) into textual
  from pg_attribute a
  where a.attrelid = rel and a.attnum > 0 and not a.attisdropped
    and a.atttypid in ('int8'::regtype, 'numeric'::regtype, 'float8'::regtype, 'money'::regtype)
    and jsonb_typeof(image -> a.attname::text) = 'number';
  return coalesce(image || textual, image);
end
$$;

drop function :SCHEMA.define_capture(text, text, text[], boolean, boolean);

-- As in migration 5, plus numbers_as_text: the row images go through stringify_numbers once the UPDATE
-- check has compared them as they are.
create function :SCHEMA.define_capture(
  trigger_name text, op text, payload_columns text[], listen_all boolean, partitioned boolean, numbers_as_text boolean
) returns void
language plpgsql as $define$
declare
  fn_name text := 'pget_' || trigger_name || '_' || op;
  images text := '';
  row_old text := 'NULL';
  row_new text := 'NULL';
  skip_unchanged text := '';
  as_text text := '';
  table_names text := '_schema := TG_TABLE_SCHEMA; _table := TG_TABLE_NAME;';
  body text;
begin
  if op in ('UPDATE', 'DELETE') then
    images := images || '_old := to_jsonb(OLD); ';
    row_old := '_old';
    if numbers_as_text then
      as_text := as_text || format('_old := %I.stringify_numbers(_old, TG_RELID); ', ':SCHEMA_NAME');
    end if;
  end if;
  if op in ('INSERT', 'UPDATE') then
    images := images || '_new := to_jsonb(NEW);';
    row_new := '_new';
    if numbers_as_text then
      as_text := as_text || format('_new := %I.stringify_numbers(_new, TG_RELID);', ':SCHEMA_NAME');
    end if;
  end if;
  if payload_columns is not null then
    if row_old <> 'NULL' then row_old := format('%I.pick_columns(_old, %L::text[])', ':SCHEMA_NAME', payload_columns); end if;
    if row_new <> 'NULL' then row_new := format('%I.pick_columns(_new, %L::text[])', ':SCHEMA_NAME', payload_columns); end if;
  end if;
  if op = 'UPDATE' and listen_all then
    skip_unchanged := 'IF _old = _new THEN RETURN NULL; END IF;';
  end if;
  if partitioned then
    table_names := 'SELECT n.nspname, c.relname INTO _schema, _table '
      || 'FROM pg_partition_ancestors(TG_RELID) AS a(relid) '
      || 'JOIN pg_trigger g ON g.tgrelid = a.relid AND g.tgname = TG_NAME AND g.tgparentid = 0 '
      || 'JOIN pg_class c ON c.oid = a.relid JOIN pg_namespace n ON n.oid = c.relnamespace; '
      || 'IF NOT FOUND THEN ' || table_names || ' END IF;';
  end if;

  body := format($fn$
    DECLARE
      _old jsonb;
      _new jsonb;
      _schema text;
      _table text;
      _setting text;
      _session jsonb;
      _trace jsonb;
    BEGIN
      %1$s
      %2$s
      %9$s
      %3$s
      _setting := current_setting('hasura.user', true);
      IF _setting <> '' THEN
        BEGIN _session := _setting::jsonb; EXCEPTION WHEN OTHERS THEN _session := NULL; END;
      END IF;
      _setting := current_setting('hasura.tracecontext', true);
      IF _setting <> '' THEN
        BEGIN _trace := _setting::jsonb; EXCEPTION WHEN OTHERS THEN _trace := NULL; END;
      END IF;
      PERFORM %4$I.enqueue_event(_schema, _table, %5$L, jsonb_build_object('op', %6$L,
        'data', jsonb_build_object('old', %7$s, 'new', %8$s),
        'session_variables', _session, 'trace_context', _trace));
      RETURN NULL;
    END
  $fn$, images, skip_unchanged, table_names, ':SCHEMA_NAME', trigger_name, op, row_old, row_new, as_text);

  execute format('CREATE OR REPLACE FUNCTION %I.%I() RETURNS trigger LANGUAGE plpgsql SECURITY INVOKER '
    || 'SET search_path = pg_catalog, pg_temp AS %L', ':SCHEMA_NAME', fn_name, body);
  execute format('REVOKE ALL ON FUNCTION %I.%I() FROM PUBLIC', ':SCHEMA_NAME', fn_name);
end
$define$;

-- install_capture as in migration 5, with numbers_as_text.
create function :SCHEMA.install_capture(
  trigger_name text, tbl regclass, op text, listen_columns text[], payload_columns text[], channel text,
  fire_on_replication boolean, numbers_as_text boolean
) returns void
language plpgsql as $install$
declare
  fn_name text := 'pget_' || trigger_name || '_' || op;
  tbl_schema text;
  tbl_name text;
  tbl_kind "char";
  when_clause text := '';
begin
  select n.nspname, c.relname, c.relkind into tbl_schema, tbl_name, tbl_kind
  from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace where c.oid = tbl;

  perform :SCHEMA.define_capture(trigger_name, op, payload_columns, op = 'UPDATE' and listen_columns is null,
    tbl_kind = 'p', numbers_as_text);

  if op = 'UPDATE' and listen_columns is not null then
    select ' WHEN (' || string_agg(:SCHEMA.column_changed_expr(tbl, c), ' OR ') || ')'
    into when_clause from unnest(listen_columns) as c;
  end if;
  execute format('CREATE TRIGGER %I AFTER %s ON %I.%I FOR EACH ROW%s EXECUTE FUNCTION %I.%I()',
    fn_name, op, tbl_schema, tbl_name, when_clause, ':SCHEMA_NAME', fn_name);
  if fire_on_replication then
    execute format('ALTER TABLE %I.%I ENABLE ALWAYS TRIGGER %I', tbl_schema, tbl_name, fn_name);
  end if;
end
$install$;

-- What daemons of earlier versions call: numbers as numbers.
create or replace function :SCHEMA.install_capture(
  trigger_name text, tbl regclass, op text, listen_columns text[], payload_columns text[], channel text,
  fire_on_replication boolean
) returns void
language sql as $$
  select :SCHEMA.install_capture(trigger_name, tbl, op, listen_columns, payload_columns, channel, fire_on_replication, false)
$$;

-- Every capture function, generated anew from the stored definitions (as in migration 5).
do $rebuild$
declare
  d record;
  op_key text;
  spec jsonb;
begin
  for d in
    select t.name, t.definition, (
      select c.relkind from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
      where c.relkind in ('r', 'p')
        and (c.oid = t.table_oid or (n.nspname = t.schema_name and c.relname = t.table_name))
      order by c.oid = t.table_oid desc limit 1
    ) as kind
    from :SCHEMA.event_triggers t
  loop
    foreach op_key in array array['insert', 'update', 'delete'] loop
      spec := d.definition -> op_key;
      continue when spec is null or jsonb_typeof(spec) <> 'object';
      perform :SCHEMA.define_capture(
        d.name, upper(op_key),
        case when jsonb_typeof(spec -> 'payload') = 'array'
             then array(select jsonb_array_elements_text(spec -> 'payload')) end,
        op_key = 'update' and spec -> 'columns' = '"*"'::jsonb,
        coalesce(d.kind = 'p', false),
        coalesce(d.definition -> 'stringify_numeric_types' = 'true'::jsonb, false));
    end loop;
  end loop;
end
$rebuild$;

-- What a writer's capture needs, and nothing more (new functions are executable by PUBLIC by default).
revoke execute on all functions in schema :SCHEMA from public;
grant execute on function :SCHEMA.enqueue_event(text, text, text, jsonb) to public;
grant execute on function :SCHEMA.pick_columns(jsonb, text[]) to public;
grant execute on function :SCHEMA.stringify_numbers(jsonb, oid) to public;
`;
