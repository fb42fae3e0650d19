/**
 * Capture runs in the writer's rights; only enqueue_event runs in the daemon's. Every installed capture
 * is then rebuilt from its stored definition.
 *
 * Up to version 3, each capture function was SECURITY DEFINER and called to_jsonb(OLD/NEW). to_jsonb
 * calls a user-defined cast to json for a column of a user type (an enum, a composite, a domain...), so
 * a role that could add such a column to a captured table ran a function of its own as the daemon's
 * role, often a superuser. Now:
 *
 * - the capture function is SECURITY INVOKER (search_path still pinned): the row images, and so any cast
 *   they call, are built as the role that wrote the row, as are the names and the session variables;
 * - it hands the finished event to enqueue_event, SECURITY DEFINER, which calls no user code: it
 *   refuses to run outside a trigger, drops events of trigger names the catalog does not know, inserts
 *   into event_log and wakes the listeners (enqueue_event is now where the wake rule lives);
 * - writers therefore need USAGE on the catalog schema and EXECUTE on enqueue_event and pick_columns,
 *   granted here to PUBLIC, and nothing else: no privilege on any catalog table. EXECUTE on everything
 *   else in the schema is revoked from PUBLIC, capture functions included, so that nobody but the
 *   daemon's role can attach a capture function to a table of their own (CREATE TRIGGER needs EXECUTE;
 *   firing a trigger does not).
 *
 * The event also carries Hasura's `session_variables` (the JSON of the `hasura.user` setting) and
 * `trace_context` (of `hasura.tracecontext`), null when unset or not valid JSON.
 *
 * A trigger on a sub-partition (p1 in p0 > p1 > p1a) reported its events under the root p0: the event now
 * names the table the trigger is on, found through the trigger that the partition's clone comes from.
 *
 * Migration 3 rewrote the NOTIFY line in the source of existing capture functions with a regular
 * expression, which a payload column named like that line could fool (with a catalog schema that needs
 * quotes, the user's INSERTs then failed on a malformed array literal). Source is no longer edited: each
 * capture function is generated anew by define_capture from the definition in event_triggers, so every
 * upgrade path ends with functions made by the current generator. Only functions are replaced: the SQL
 * triggers on user tables stay as they are (no lock on user tables, and a listened column renamed since
 * keeps its WHEN clause, which a rebuild from the stored column name could not recreate), and so does
 * their enabled state.
 */
export const invokerCaptureMigration = String.raw`
-- Writes one event built by a capture function, in the daemon's rights. It calls no user code: its
-- arguments are values, and it only inserts into a table that only the daemon's role may alter.
create function :SCHEMA.enqueue_event(event_schema text, event_table text, event_trigger text, event_payload jsonb)
returns void
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
begin
  -- Capture functions call this from an AFTER ROW trigger; called from a plain statement it would only
  -- be a way to forge events.
  if pg_trigger_depth() = 0 then
    raise exception 'enqueue_event may only be called by a capture trigger' using errcode = 'insufficient_privilege';
  end if;
  -- An event of a name no definition has is dropped: nobody could deliver it, and each one would make
  -- every daemon that fetches it reload its definitions. Dropped rather than refused, so that no user
  -- write fails for it. The check is part of the INSERT: one statement per event, not two.
  insert into :SCHEMA.event_log (schema_name, table_name, trigger_name, payload)
  select event_schema, event_table, event_trigger, event_payload
  where exists (select 1 from :SCHEMA.event_triggers t where t.name = event_trigger);
  -- The rule of wake_listeners (migration 3), inline: one function call less per row. A shared try
  -- that is refused means a daemon holds the wake lock or waits for it: it sleeps until NOTIFY. The
  -- channel is the catalog's own, <schema>_events (src/catalog/channel.ts), not an argument: a caller
  -- has no say in it.
  if found and not pg_try_advisory_xact_lock_shared(:SCHEMA.wake_lock_class(), 0) then
    perform pg_notify(':SCHEMA_NAME_events', '');
  end if;
end
$$;

-- Creates (or replaces) the capture function of one operation of one event trigger, as the generator
-- of this version writes it. payload_columns: null for "*"; listen_all: an UPDATE listening to "*"
-- (an UPDATE that changes nothing then fires nothing); partitioned: the trigger is on a partitioned
-- table, so it fires on partitions and the event must name the table it is on.
create function :SCHEMA.define_capture(
  trigger_name text, op text, payload_columns text[], listen_all boolean, partitioned boolean
) returns void
language plpgsql as $define$
declare
  fn_name text := 'pget_' || trigger_name || '_' || op;
  images text := '';
  row_old text := 'NULL';
  row_new text := 'NULL';
  skip_unchanged text := '';
  -- The event names the table as it is called when the row changes, so renames are followed.
  table_names text := '_schema := TG_TABLE_SCHEMA; _table := TG_TABLE_NAME;';
  body text;
begin
  if op in ('UPDATE', 'DELETE') then
    images := images || '_old := to_jsonb(OLD); ';
    row_old := '_old';
  end if;
  if op in ('INSERT', 'UPDATE') then
    images := images || '_new := to_jsonb(NEW);';
    row_new := '_new';
  end if;
  if payload_columns is not null then
    if row_old <> 'NULL' then row_old := format('%I.pick_columns(_old, %L::text[])', ':SCHEMA_NAME', payload_columns); end if;
    if row_new <> 'NULL' then row_new := format('%I.pick_columns(_new, %L::text[])', ':SCHEMA_NAME', payload_columns); end if;
  end if;
  if op = 'UPDATE' and listen_all then
    skip_unchanged := 'IF _old = _new THEN RETURN NULL; END IF;';
  end if;
  if partitioned then
    -- A row trigger on a partitioned table fires on the partition that holds the row, through a clone of
    -- itself with the same name. The table the trigger is on is the ancestor whose trigger of that name
    -- is no clone (tgparentid 0): the partitioned table itself, at whatever depth (not the root).
    table_names := 'SELECT n.nspname, c.relname INTO _schema, _table '
      || 'FROM pg_partition_ancestors(TG_RELID) AS a(relid) '
      || 'JOIN pg_trigger g ON g.tgrelid = a.relid AND g.tgname = TG_NAME AND g.tgparentid = 0 '
      || 'JOIN pg_class c ON c.oid = a.relid JOIN pg_namespace n ON n.oid = c.relnamespace; '
      || 'IF NOT FOUND THEN ' || table_names || ' END IF;';
  end if;

  -- hasura.user and hasura.tracecontext hold JSON when an application sets them as Hasura does
  -- (SET LOCAL "hasura.user" = '{"x-hasura-user-id": "1"}'). Unset, they read as null (never set in the
  -- session) or '' (set earlier, reset at the end of its transaction): no parsing then, so the
  -- subtransaction of the exception block is paid only by a write that carries a value. A value that is
  -- not JSON becomes null: it must not fail the user's write.
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
  $fn$, images, skip_unchanged, table_names, ':SCHEMA_NAME', trigger_name, op, row_old, row_new);

  -- SECURITY INVOKER: to_jsonb, and any cast it calls, runs as the role that wrote the row. The body is
  -- a quoted literal (%L), never dollar-quoted, so no name in it can end it early (see migration 2).
  execute format('CREATE OR REPLACE FUNCTION %I.%I() RETURNS trigger LANGUAGE plpgsql SECURITY INVOKER '
    || 'SET search_path = pg_catalog, pg_temp AS %L', ':SCHEMA_NAME', fn_name, body);
  -- Firing a trigger needs no EXECUTE on its function; creating one does: nobody but the daemon's role
  -- can put this function on a table of their own.
  execute format('REVOKE ALL ON FUNCTION %I.%I() FROM PUBLIC', ':SCHEMA_NAME', fn_name);
end
$define$;

-- Installs the capture of one operation of one event trigger: its function (define_capture) and an
-- AFTER ... FOR EACH ROW trigger. listen_columns: null for "*"; payload_columns: null for "*". channel is
-- no longer used (enqueue_event wakes the catalog's own channel); it stays so the signature, and every
-- caller, is unchanged.
create or replace function :SCHEMA.install_capture(
  trigger_name text, tbl regclass, op text, listen_columns text[], payload_columns text[], channel text,
  fire_on_replication boolean
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
    tbl_kind = 'p');

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

-- Every capture function, generated anew from the stored definitions.
do $rebuild$
declare
  d record;
  op_key text;
  spec jsonb;
  f record;
begin
  for d in
    select t.name, t.definition, (
      -- The table as tableState finds it: by oid (renames), else by name (a dump and restore).
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
        coalesce(d.kind = 'p', false));
    end loop;
  end loop;

  -- A capture function that no definition accounts for (its row deleted by hand) would keep running as
  -- SECURITY DEFINER over user code, for events nobody can deliver: it goes, with its triggers.
  for f in
    select p.proname from pg_catalog.pg_proc p
    where p.pronamespace = (select oid from pg_catalog.pg_namespace where nspname = ':SCHEMA_NAME')
      and p.proname like 'pget\_%'
      and p.prorettype = 'pg_catalog.trigger'::pg_catalog.regtype
      and not exists (
        select 1 from :SCHEMA.event_triggers t, unnest(array['insert', 'update', 'delete']) as o(key)
        where jsonb_typeof(t.definition -> o.key) = 'object' and p.proname = 'pget_' || t.name || '_' || upper(o.key))
  loop
    execute format('DROP FUNCTION %I.%I() CASCADE', ':SCHEMA_NAME', f.proname);
  end loop;
end
$rebuild$;

-- What a writer's capture needs, and nothing more.
grant usage on schema :SCHEMA to public;
revoke execute on all functions in schema :SCHEMA from public;
grant execute on function :SCHEMA.enqueue_event(text, text, text, jsonb) to public;
grant execute on function :SCHEMA.pick_columns(jsonb, text[]) to public;
`;
