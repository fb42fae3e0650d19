/**
 * Statements behind the API's event operations: manual invocation, redelivery and the log queries.
 * Results meant for the API are rendered to JSON text by PostgreSQL, so payload values (bigints,
 * numerics) reach the client exactly as stored.
 */
import { statements } from './schemaText.js';

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
  'created_at', e.created_at,
  'locked', e.locked_at,
  'locked_by', e.locked_by,
  'next_retry_at', e.next_retry_at,
  'archived', e.archived,
  'status', case when e.archived then 'archived' when e.delivered then 'delivered' when e.error then 'error'
                 when e.next_retry_at > now() then 'retrying' else 'pending' end)`;

const INVOCATION_JSON = `json_build_object(
  'id', l.id,
  'event_id', l.event_id,
  'trigger_name', l.trigger_name,
  'status', l.status,
  'request', l.request,
  'response', l.response,
  'created_at', l.created_at)`;

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
    eventLogs: `
      select coalesce(json_agg(${EVENT_JSON} order by e.created_at desc, e.id), '[]')::text as json
      from (
        select * from :SCHEMA.event_log e
        where e.trigger_name = $1 and not e.archived
          and ($2 = 'all' or ($2 = 'pending') = (not e.delivered and not e.error))
        order by e.created_at desc, e.id
        limit $3 offset $4
      ) e`,
    invocationLogs: `
      select coalesce(json_agg(${INVOCATION_JSON} order by l.created_at desc, l.id), '[]')::text as json
      from (
        select * from :SCHEMA.event_invocation_logs l
        where l.trigger_name = $1
        order by l.created_at desc, l.id
        limit $2 offset $3
      ) l`,
    eventById: `
      select json_build_object(
        'event', ${EVENT_JSON},
        'invocations', (
          select coalesce(json_agg(${INVOCATION_JSON} order by l.created_at desc, l.id), '[]')
          from (
            select * from :SCHEMA.event_invocation_logs l where l.event_id = e.id
            order by l.created_at desc, l.id limit $2 offset $3
          ) l)
      )::text as json
      from :SCHEMA.event_log e where e.id = $1`,
  });
