/**
 * Flow control: the claim is made trigger by trigger, so that one trigger's backlog never keeps another's
 * events from being claimed, and it enforces in the database what must hold across daemons: circuit
 * breakers per endpoint, a trigger's maximum of requests in flight, and its maximum rate.
 *
 * - event_log_due_by_trigger replaces event_log_due (migration 4): the same events (nobody holds them,
 *   not settled), by trigger and then by when they are due. claim_due finds the triggers that have such
 *   events with a loose index scan (one index probe per trigger, however many events each has) and takes
 *   each one's oldest due events up to the room the daemon has for it. Before, one claim took the oldest
 *   due events of any trigger: a trigger whose endpoint hung filled the daemon with its events, and the
 *   others' waited behind them.
 * - event_log_held_by_trigger counts the events daemons hold, per trigger: a trigger with max_in_flight
 *   is claimed only up to that many held events, summed over every daemon. Its retries are never kept
 *   waiting in a daemon's memory (they are parked in the database and claimed again through this check),
 *   so the events held are those being sent or about to be.
 * - endpoint_circuits holds the circuit breakers that are not closed (no row: closed). A daemon that sees
 *   an endpoint fail too many times in a row opens its circuit; no daemon claims the events of its
 *   triggers until open_until; then one claim, of one daemon, takes one event as the probe (half_open,
 *   with a lease); the prober closes the circuit (deletes the row) on success or opens it again, for a
 *   cool-down twice as long, on failure.
 * - trigger_rate_buckets are the token buckets of triggers with max_events_per_second: a claim takes
 *   tokens, refilled at that rate, holding at most a tenth of a second's worth (at least one), so the
 *   rate is smoothed rather than spent in bursts.
 *
 * The endpoint of a trigger is its webhook as defined (a template stays unresolved; webhook_from_env is
 * "env:" and the variable's name): what the catalog and the API may show, never a resolved secret.
 * src/catalog/definition.ts (endpointOf) computes the same key.
 */
export const flowControlMigration = String.raw`
create index event_log_due_by_trigger on :SCHEMA.event_log (trigger_name, (coalesce(next_retry_at, created_at)))
  where not delivered and not error and not archived and locked_by is null;
drop index :SCHEMA.event_log_due;

create index event_log_held_by_trigger on :SCHEMA.event_log (trigger_name) where locked_by is not null;

create table :SCHEMA.endpoint_circuits (
  -- The webhook as defined (endpoint_of): every trigger with this webhook shares the circuit.
  endpoint text primary key,
  -- open: nothing is sent before open_until. half_open: probe_by sends one event to see if it is back.
  state text not null check (state in ('open', 'half_open')),
  -- Times opened since the endpoint last worked: the cool-down doubles with each.
  openings integer not null,
  opened_at timestamptz not null,
  open_until timestamptz not null,
  probe_by uuid,
  -- The probe's lease: past it (the prober died, or has no due event to send), another daemon may probe.
  probe_until timestamptz,
  -- The failure that opened it, for operators (an HTTP status or a network error; no payload, no secret).
  reason text not null
);

create table :SCHEMA.trigger_rate_buckets (
  trigger_name text primary key,
  tokens double precision not null,
  refilled_at timestamptz not null
);

-- The key of a trigger's circuit, from its stored definition.
create function :SCHEMA.endpoint_of(definition jsonb) returns text
language sql immutable parallel safe as $$
  select coalesce(definition->>'webhook', 'env:' || (definition->>'webhook_from_env'))
$$;

-- The first key of the transaction advisory locks that serialise the claims of one flow-limited trigger.
create function :SCHEMA.flow_lock_class() returns integer
language sql immutable parallel safe as $$
  select pg_catalog.hashtext('pg-event-triggers:flow:' || ':SCHEMA_NAME') & 2147483647
$$;

-- Claims due events for one daemon, trigger by trigger.
--   rooms_for / rooms: how many events this daemon takes at most of each trigger it names (0: none, e.g.
--   it holds enough already); default_room: of any other trigger.
--   probe_lease_ms: how long a probe of a half-open circuit is this daemon's before another may probe.
-- Returns the claimed events (note null), the probe of a circuit (note 'probe'); for a trigger whose
-- rate limit held back due events, a row with id null, note 'throttled' and retry_in_ms the wait until
-- its next token; for one whose max_in_flight did, a row with id null and note 'limited' (claim again
-- when one of its events is settled).
-- VOLATILE, so each statement sees what committed before it began: a claim that waited for a
-- flow-limited trigger's lock counts the events claimed by the daemon that held it.
-- Each update finds its rows by primary key (= any(array(...))): joined to the CTE instead, the planner,
-- which cannot know the rooms, estimated thousands of rows and read the whole table (37 ms for 54 rows
-- of 70,000, against well under one).
create function :SCHEMA.claim_due(
  instance uuid, rooms_for text[], rooms integer[], default_room integer, probe_lease_ms integer
) returns table (
  id uuid, schema_name text, table_name text, trigger_name text, tries integer, redeliveries integer,
  created_at text, payload text, trace_context text, retry_in_ms bigint, note text
)
language plpgsql volatile set search_path = pg_catalog, pg_temp as $$
#variable_conflict use_column
declare
  wanted record;
  free_names text[] := '{}';
  free_rooms integer[] := '{}';
  room integer;
  held integer;
  tokens double precision;
  burst double precision;
  claimed integer;
  probe_endpoint text;
  limited boolean;
begin
  for wanted in
    with recursive active(name) as (
      (select e.trigger_name from :SCHEMA.event_log e
       where not e.delivered and not e.error and not e.archived and e.locked_by is null
       order by e.trigger_name limit 1)
      union all
      select (select e.trigger_name from :SCHEMA.event_log e
              where not e.delivered and not e.error and not e.archived and e.locked_by is null
                and e.trigger_name > a.name
              order by e.trigger_name limit 1)
      from active a where a.name is not null
    )
    select a.name,
           coalesce(r.room, default_room) as room,
           (t.definition->'flow_control'->>'max_in_flight')::integer as max_in_flight,
           (t.definition->'flow_control'->>'max_events_per_second')::double precision as per_second,
           coalesce((t.definition->'retry_conf'->>'timeout_sec')::integer, 60) as timeout_sec,
           c.state as circuit, c.open_until, c.probe_by, c.probe_until, c.endpoint
    from active a
    left join unnest(rooms_for, rooms) as r(name, room) on r.name = a.name
    left join :SCHEMA.event_triggers t on t.name = a.name
    left join :SCHEMA.endpoint_circuits c on c.endpoint = :SCHEMA.endpoint_of(t.definition)
    where a.name is not null and coalesce(r.room, default_room) > 0
  loop
    -- An open circuit: nothing, until its cool-down is over and nobody else holds a live probe lease.
    if wanted.circuit is not null then
      continue when wanted.open_until > now();
      -- A live lease, this daemon's included: one probe at a time per endpoint.
      continue when wanted.probe_by is not null and wanted.probe_until > now();
      continue when wanted.endpoint = probe_endpoint;
      update :SCHEMA.endpoint_circuits c
      set state = 'half_open', probe_by = instance,
          probe_until = clock_timestamp() + make_interval(secs => (wanted.timeout_sec * 1000 + probe_lease_ms) / 1000.0)
      where c.endpoint = wanted.endpoint
        and (c.probe_by is null or c.probe_until <= now());
      continue when not found;
      return query
        with due as (
          select e.id from :SCHEMA.event_log e
          where e.trigger_name = wanted.name
            and not e.delivered and not e.error and not e.archived and e.locked_by is null
            and coalesce(e.next_retry_at, e.created_at) <= now()
          order by coalesce(e.next_retry_at, e.created_at)
          limit 1
          for update skip locked
        )
        update :SCHEMA.event_log e set locked_by = instance, locked_at = now()
        where e.id = any(array(select due.id from due))
        returning e.id, e.schema_name, e.table_name, e.trigger_name, e.tries, e.redeliveries,
          to_char(e.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), e.payload::text, (e.payload->'trace_context')::text,
          greatest(0, ceil(extract(epoch from (e.next_retry_at - now())) * 1000))::int8, 'probe'::text;
      if found then
        -- One probe per endpoint per claim, whichever of its triggers had a due event.
        probe_endpoint := wanted.endpoint;
      else
        -- Nothing of this trigger is due: leave the lease to whoever has a due event first.
        update :SCHEMA.endpoint_circuits c set probe_by = null, probe_until = null
        where c.endpoint = wanted.endpoint and c.probe_by = instance;
      end if;
      continue;
    end if;

    if wanted.max_in_flight is null and wanted.per_second is null then
      free_names := free_names || wanted.name;
      free_rooms := free_rooms || wanted.room;
      continue;
    end if;

    -- A flow-limited trigger: one daemon at a time counts and claims, until its transaction ends.
    perform pg_advisory_xact_lock(:SCHEMA.flow_lock_class(), hashtext(wanted.name));
    room := wanted.room;
    limited := false;
    if wanted.max_in_flight is not null then
      select count(*) into held from :SCHEMA.event_log e where e.trigger_name = wanted.name and e.locked_by is not null;
      limited := wanted.max_in_flight - held < room;
      room := least(room, wanted.max_in_flight - held);
    end if;
    tokens := null;
    if wanted.per_second is not null and room > 0 then
      burst := greatest(1, wanted.per_second / 10);
      insert into :SCHEMA.trigger_rate_buckets as b (trigger_name, tokens, refilled_at)
      values (wanted.name, burst, clock_timestamp())
      on conflict on constraint trigger_rate_buckets_pkey do update
        set tokens = least(burst, b.tokens + wanted.per_second * greatest(0, extract(epoch from clock_timestamp() - b.refilled_at))),
            refilled_at = clock_timestamp()
      returning b.tokens into tokens;
      room := least(room, floor(tokens)::integer);
    end if;
    claimed := 0;
    if room > 0 then
      return query
        with due as (
          select e.id from :SCHEMA.event_log e
          where e.trigger_name = wanted.name
            and not e.delivered and not e.error and not e.archived and e.locked_by is null
            and coalesce(e.next_retry_at, e.created_at) <= now()
          order by coalesce(e.next_retry_at, e.created_at)
          limit room
          for update skip locked
        )
        update :SCHEMA.event_log e set locked_by = instance, locked_at = now()
        where e.id = any(array(select due.id from due))
        returning e.id, e.schema_name, e.table_name, e.trigger_name, e.tries, e.redeliveries,
          to_char(e.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), e.payload::text, (e.payload->'trace_context')::text,
          greatest(0, ceil(extract(epoch from (e.next_retry_at - now())) * 1000))::int8, null::text;
      get diagnostics claimed = row_count;
    end if;
    if limited and claimed = greatest(room, 0) then
      return query select null::uuid, null::text, null::text, wanted.name, null::integer, null::integer,
        null::text, null::text, null::text, 0::int8, 'limited'::text;
    end if;
    if tokens is not null then
      update :SCHEMA.trigger_rate_buckets b set tokens = b.tokens - claimed where b.trigger_name = wanted.name;
      -- The bucket, not the backlog, ended the claim: say when the next token comes, so the daemon
      -- claims again then rather than at its next poll.
      if claimed = floor(tokens) and claimed < wanted.room then
        return query select null::uuid, null::text, null::text, wanted.name, null::integer, null::integer,
          null::text, null::text, null::text, ceil(1000 * greatest(0, 1 - (tokens - claimed)) / wanted.per_second)::int8, 'throttled'::text;
      end if;
    end if;
  end loop;

  if cardinality(free_names) > 0 then
    return query
      with due as (
        select c.id
        from unnest(free_names, free_rooms) as w(name, room)
        cross join lateral (
          select e.id from :SCHEMA.event_log e
          where e.trigger_name = w.name
            and not e.delivered and not e.error and not e.archived and e.locked_by is null
            and coalesce(e.next_retry_at, e.created_at) <= now()
          order by coalesce(e.next_retry_at, e.created_at)
          limit w.room
          for update skip locked
        ) c
      )
      update :SCHEMA.event_log e set locked_by = instance, locked_at = now()
      where e.id = any(array(select due.id from due))
      returning e.id, e.schema_name, e.table_name, e.trigger_name, e.tries, e.redeliveries,
        to_char(e.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), e.payload::text, (e.payload->'trace_context')::text,
        greatest(0, ceil(extract(epoch from (e.next_retry_at - now())) * 1000))::int8, null::text;
  end if;
end
$$;

-- Only the daemon's role runs these (migration 5 revoked EXECUTE from PUBLIC on what existed then).
revoke execute on function :SCHEMA.claim_due(uuid, text[], integer[], integer, integer) from public;
revoke execute on function :SCHEMA.endpoint_of(jsonb) from public;
revoke execute on function :SCHEMA.flow_lock_class() from public;
`;
