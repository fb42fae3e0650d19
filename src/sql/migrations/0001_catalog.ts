/**
 * The catalog: trigger definitions, the event log, invocation logs, daemon instances, and the
 * server-side functions that install and drop capture triggers.
 *
 * `:SCHEMA` is replaced by the quoted catalog schema; `:CHANNEL` by the quoted NOTIFY channel literal.
 * Capture DDL is generated here, inside PostgreSQL, with format('%I', ...) and format('%L', ...), so every
 * identifier and literal that comes from a user is quoted by PostgreSQL itself and the daemon only ever
 * passes them as bind parameters.
 */
export const catalogMigration = String.raw`
create table :SCHEMA.event_triggers (
  -- The trigger's name, as given to create_event_trigger.
  name text primary key,
  -- Stable id sent as trigger.id in every payload; kept across replace.
  id uuid not null unique default gen_random_uuid(),
  -- The table the trigger captures, as named at create time, and its oid: a rename keeps the oid (and
  -- the capture, which reads the table's name when it fires); a dump and restore keeps the names.
  schema_name text not null,
  table_name text not null,
  table_oid oid not null,
  -- The full normalised definition (webhook, operations, headers, retry_conf, ...).
  definition jsonb not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create table :SCHEMA.event_log (
  id uuid primary key default gen_random_uuid(),
  schema_name text not null,
  table_name text not null,
  trigger_name text not null,
  -- {"op": ..., "data": {"old": ..., "new": ...}}, built by PostgreSQL in the capture function.
  payload jsonb not null,
  -- Set after a 2xx: done.
  delivered boolean not null default false,
  -- Set when attempts ran out: given up until redeliver_event.
  error boolean not null default false,
  -- Attempts made so far.
  tries integer not null default 0,
  created_at timestamptz not null default now(),
  -- When the next attempt is due (null: now).
  next_retry_at timestamptz,
  -- Which daemon instance holds the event (claimed, in flight or waiting for a retry), and since when.
  locked_at timestamptz,
  locked_by uuid,
  -- Set when the trigger was deleted: never delivered.
  archived boolean not null default false
);

-- Serves the fetch: the oldest undelivered events.
create index event_log_pending on :SCHEMA.event_log (created_at)
  where not delivered and not error and not archived;
-- Serves lock release and takeover.
create index event_log_locked_by on :SCHEMA.event_log (locked_by) where locked_by is not null;
-- Serves get_event_logs by trigger.
create index event_log_trigger on :SCHEMA.event_log (trigger_name, created_at);

create table :SCHEMA.event_invocation_logs (
  id uuid primary key default gen_random_uuid(),
  event_id uuid not null references :SCHEMA.event_log (id) on delete cascade,
  trigger_name text not null,
  -- HTTP status, or null when no response came (connection error, timeout).
  status integer,
  -- {"payload": ..., "headers": [...], "version": "2"}
  request jsonb not null,
  -- {"type": "webhook_response", "data": {...}, "version": "2"} or {"type": "client_error", ...}
  response jsonb not null,
  created_at timestamptz not null default now()
);
create index event_invocation_logs_event on :SCHEMA.event_invocation_logs (event_id);
create index event_invocation_logs_trigger on :SCHEMA.event_invocation_logs (trigger_name, created_at);

create table :SCHEMA.instances (
  id uuid primary key,
  -- Key of the session advisory lock the instance holds while it lives (see presence.ts).
  lock_key integer generated always as identity unique,
  hostname text not null,
  pid integer not null,
  started_at timestamptz not null default now(),
  heartbeat_at timestamptz not null default now()
);

-- The first key of the session advisory lock each live daemon instance holds (the second is its lock_key).
-- When a daemon dies, PostgreSQL drops its session and the lock with it: its events are taken over at
-- once instead of after a heartbeat timeout.
create function :SCHEMA.presence_lock_class() returns integer
language sql immutable parallel safe as $$
  select pg_catalog.hashtext('pg-event-triggers:presence:' || ':SCHEMA_NAME') & 2147483647
$$;

-- An instance is alive while its heartbeat is fresh and its session holds its presence lock. A session
-- that just dropped (a database restart, a network blip) is given a third of the timeout to reconnect
-- before its events are taken over; a killed daemon's events are taken over after that third.
create function :SCHEMA.instance_alive(lock_key integer, heartbeat_at timestamptz, timeout_ms integer)
returns boolean
language sql stable as $$
  select heartbeat_at > pg_catalog.now() - pg_catalog.make_interval(secs => timeout_ms / 1000.0)
     and (heartbeat_at > pg_catalog.now() - pg_catalog.make_interval(secs => timeout_ms / 3000.0)
          or exists (
            select 1 from pg_catalog.pg_locks l
            where l.locktype = 'advisory' and l.granted and l.objsubid = 2
              and l.database = (select oid from pg_catalog.pg_database where datname = pg_catalog.current_database())
              and l.classid = :SCHEMA.presence_lock_class()::oid and l.objid = lock_key::oid))
$$;

-- Picks the listed keys of a row image; keys of columns renamed or dropped since simply vanish.
create function :SCHEMA.pick_columns(row_image jsonb, wanted text[]) returns jsonb
language sql immutable parallel safe as $$
  select coalesce(pg_catalog.jsonb_object_agg(e.key, e.value), '{}'::jsonb)
  from pg_catalog.jsonb_each(row_image) as e(key, value)
  where e.key = any (wanted)
$$;

-- The expression that tells whether column "col" changed in an UPDATE. Types without a default btree
-- equality (json, xml, point, arrays and ranges of those, ...) are compared through their text form,
-- which every type has, so the WHEN clause can be built for any column.
create function :SCHEMA.column_changed_expr(tbl regclass, col text) returns text
language plpgsql stable as $$
declare
  col_type oid;
  has_equality boolean;
begin
  select coalesce(nullif(t.typbasetype, 0), a.atttypid) into col_type
  from pg_catalog.pg_attribute a join pg_catalog.pg_type t on t.oid = a.atttypid
  where a.attrelid = tbl and a.attname = col and a.attnum > 0 and not a.attisdropped;
  if col_type is null then
    raise exception 'column % does not exist', col using errcode = 'undefined_column';
  end if;
  select exists (
    select 1 from pg_catalog.pg_opclass oc join pg_catalog.pg_am am on am.oid = oc.opcmethod
    where am.amname = 'btree' and oc.opcdefault and oc.opcintype = col_type
  ) into has_equality;
  if has_equality then
    return format('OLD.%1$I IS DISTINCT FROM NEW.%1$I', col);
  end if;
  return format('OLD.%1$I::text IS DISTINCT FROM NEW.%1$I::text', col);
end
$$;

-- Installs the capture of one operation of one event trigger: a function that writes the event into
-- event_log in the user's transaction and wakes the daemons, and an AFTER ... FOR EACH ROW trigger.
-- listen_columns: null for "*"; payload_columns: null for "*".
create function :SCHEMA.install_capture(
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

  execute format($fn$
    CREATE OR REPLACE FUNCTION %1$I.%2$I() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $body$
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
    $body$
  $fn$, ':SCHEMA_NAME', fn_name, skip_unchanged, name_lookup, name_values, trigger_name, op,
        row_image_old, row_image_new, channel);

  execute format('CREATE TRIGGER %I AFTER %s ON %I.%I FOR EACH ROW%s EXECUTE FUNCTION %I.%I()',
    fn_name, op, tbl_schema, tbl_name, when_clause, ':SCHEMA_NAME', fn_name);
  if fire_on_replication then
    execute format('ALTER TABLE %I.%I ENABLE ALWAYS TRIGGER %I', tbl_schema, tbl_name, fn_name);
  end if;
end
$install$;

-- Drops every capture function of an event trigger; CASCADE drops its SQL triggers with it, wherever
-- the table now is (renamed or moved).
create function :SCHEMA.drop_capture(trigger_name text) returns void
language plpgsql as $$
declare
  op text;
begin
  foreach op in array array['INSERT', 'UPDATE', 'DELETE'] loop
    execute format('DROP FUNCTION IF EXISTS %I.%I() CASCADE', ':SCHEMA_NAME', 'pget_' || trigger_name || '_' || op);
  end loop;
end
$$;
`;
