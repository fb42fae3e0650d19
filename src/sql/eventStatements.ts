/**
 * Statements behind the API's event operations: manual invocation, redelivery and the log queries.
 * Results meant for the API are rendered to JSON text by PostgreSQL, so payload values (bigints,
 * numerics) reach the client exactly as stored.
 */
import { statements } from './schemaText.js';

/**
 * A timestamp as the API shows it: UTC, ISO-8601 with Z and microseconds, as in the payload's created_at
 * (deliveryStatements.ts). Hasura answers these fields as UTCTime, which aeson renders in UTC with Z; PostgreSQL's
 * own JSON rendering of timestamptz would follow the session's TimeZone instead ("+02:00").
 */
export const utc = (column: string) => `to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

/** An event's status as the API shows it: pending, retrying, delivered, error or archived. */
export const EVENT_STATUS = `case when e.archived then 'archived' when e.delivered then 'delivered' when e.error then 'error'
                 when e.next_retry_at > now() then 'retrying' else 'pending' end`;

/** One event as the API shows it (Hasura's event_log columns, plus status and lock holder). */
const EVENT_JSON = `json_build_object(
  'id', e.id,
  'schema_name', e.schema_name,
  'table_name', e.table_name,
  'trigger_name', e.trigger_name,
  'payload', e.payload,
  'delivered', e.delivered,
  'error', e.error,
  'tries', e.tries,
  'created_at', ${utc('e.created_at')},
  'locked', ${utc('e.locked_at')},
  'locked_by', e.locked_by,
  'next_retry_at', ${utc('e.next_retry_at')},
  'archived', e.archived,
  'status', ${EVENT_STATUS})`;

/**
 * One attempt as the API shows it. Hasura names the HTTP status http_status (EventInvocationLog's
 * eilHttpStatus); status, this daemon's earlier name for it, stays for the clients that read it. The
 * request and response are stored as json (migration 11) and shown as jsonb renders them, as they were.
 */
const INVOCATION_JSON = `json_build_object(
  'id', l.id,
  'event_id', l.event_id,
  'trigger_name', l.trigger_name,
  'http_status', l.status,
  'status', l.status,
  'request', l.request::jsonb,
  'response', l.response::jsonb,
  'created_at', ${utc('l.created_at')},
  'duration_ms', l.duration_ms)`;

/**
 * A page of log rows rendered to one JSON array, but never more than `budget` bytes of it: a page of
 * invocation logs may hold a response body of up to RESPONSE_BODY_LIMIT and a payload per row, and
 * PostgreSQL cannot build a text over 1 GB. Each row of the page (`page`:
 * its ids and created_at, in answer order) is rendered once to measure it (the window only carries
 * sizes), and only the rows whose running total fits are aggregated. `wanted` and `kept` tell the
 * caller whether the page was cut. The 4 bytes per row cover json_agg's separators. `table` is the
 * table with the alias `json` uses.
 */
function budgetedPage(p: { page: string; table: string; json: string; budget: string }): string {
  const alias = p.table.split(' ').at(-1)!;
  return `
      with page as materialized (${p.page}
      ), sized as (
        select p.id, p.created_at,
               sum(octet_length((${p.json})::text) + 4) over (order by p.created_at desc, p.id) as running
        from page p join ${p.table} on ${alias}.id = p.id
      )
      select coalesce(json_agg(${p.json} order by s.created_at desc, s.id), '[]')::text as json,
             (select count(*) from page)::int as wanted, count(*)::int as kept
      from sized s join ${p.table} on ${alias}.id = s.id
      where s.running <= ${p.budget}::int8`;
}

export const eventStatements = (schema: string) =>
  statements('events', schema, {
    insertManual: `
      insert into :SCHEMA.event_log (schema_name, table_name, trigger_name, payload)
      values ($1, $2, $3, $4::jsonb) returning id`,
    /** The event and whether the instance holding it is alive; row-locked until the operation ends. */
    lockForRedeliver: `
      select e.id, e.archived, e.locked_by, coalesce(e.next_retry_at > now(), false) as waiting,
             coalesce(:SCHEMA.instance_alive(i.lock_key, i.heartbeat_at, $2), false) as owner_alive
      from :SCHEMA.event_log e left join :SCHEMA.instances i on i.id = e.locked_by
      where e.id = $1
      for update of e`,
    /**
     * Resets the attempts of an event ($2: also release its lock, so any daemon fetches it now) and
     * counts the redelivery: an attempt in flight that began before it cannot record its verdict over
     * the reset (recordAttempts). Returns the new count, the generation the event's actor moves to.
     */
    resetForRedeliver: `
      update :SCHEMA.event_log
      set tries = 0, delivered = false, error = false, next_retry_at = null,
          redeliveries = redeliveries + 1,
          locked_by = case when $2 then null else locked_by end,
          locked_at = case when $2 then null else locked_at end
      where id = $1
      returning redeliveries`,
    /**
     * As in Hasura (fetchEventLogsTxE): "pending" and "processed" leave archived events out, "all" shows
     * them too (the events of an earlier trigger of the same name included). Both log queries answer
     * within the request's answer budget (budgetedPage).
     */
    eventLogs: budgetedPage({
      page: `
        select e.id, e.created_at from :SCHEMA.event_log e
        where e.trigger_name = $1
          and ($2 = 'all' or (not e.archived and ($2 = 'pending') = (not e.delivered and not e.error)))
        order by e.created_at desc, e.id
        limit $3 offset $4`,
      table: ':SCHEMA.event_log e',
      json: EVENT_JSON,
      budget: '$5',
    }),
    invocationLogs: budgetedPage({
      page: `
        select l.id, l.created_at from :SCHEMA.event_invocation_logs l
        where l.trigger_name = $1
        order by l.created_at desc, l.id
        limit $2 offset $3`,
      table: ':SCHEMA.event_invocation_logs l',
      json: INVOCATION_JSON,
      budget: '$4',
    }),
    /** The event (null json when it alone exceeds $4 bytes) and the invocations that fit after it. */
    eventById: `
      with event as (
        select e.*, octet_length((${EVENT_JSON})::text) + 64 as size from :SCHEMA.event_log e where e.id = $1
      ), page as materialized (
        select l.id, l.created_at from :SCHEMA.event_invocation_logs l
        where l.event_id = $1
        order by l.created_at desc, l.id
        limit $2 offset $3
      ), sized as (
        select p.id, p.created_at,
               sum(octet_length((${INVOCATION_JSON})::text) + 4) over (order by p.created_at desc, p.id) as running
        from page p join :SCHEMA.event_invocation_logs l on l.id = p.id
      ), kept as (
        select s.* from sized s, event e where s.running <= $4::int8 - e.size
      )
      select case when e.size > $4::int8 then null else json_build_object(
               'event', ${EVENT_JSON},
               'invocations', (
                 select coalesce(json_agg(${INVOCATION_JSON} order by k.created_at desc, k.id), '[]')
                 from kept k join :SCHEMA.event_invocation_logs l on l.id = k.id))::text end as json,
             (select count(*) from page)::int as wanted, (select count(*) from kept)::int as kept
      from event e`,
  });
