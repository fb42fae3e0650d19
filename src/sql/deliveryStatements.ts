/**
 * Statements of the delivery engine. Each is one round trip however many events it touches: events are
 * claimed in batches, and outcomes and invocation logs are written in batches.
 */
import { statements } from './schemaText.js';

/** The columns an event actor starts from. created_at is rendered as in the payload spec (UTC, Z). */
const CLAIMED_COLUMNS = `
  e.id, e.schema_name, e.table_name, e.trigger_name, e.tries, e.redeliveries,
  to_char(e.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as created_at,
  e.payload::text as payload,
  greatest(0, ceil(extract(epoch from (e.next_retry_at - now())) * 1000))::int8 as retry_in_ms`;

export const deliveryStatements = (schema: string) =>
  statements('delivery', schema, {
    /**
     * Claims up to $2 events that are due and held by nobody, in the order they fell due: a new event at
     * its creation, a retry at its next_retry_at (oldest first). SKIP LOCKED lets several daemons fetch
     * at once without waiting on, or taking, each other's rows. The conditions are event_log_due's
     * (migration 4), so the scan reads only unheld events, and stops at the first one not yet due.
     */
    claimDue: `
      with due as (
        select id from :SCHEMA.event_log
        where not delivered and not error and not archived and locked_by is null
          and coalesce(next_retry_at, created_at) <= now()
        order by coalesce(next_retry_at, created_at)
        limit $2
        for update skip locked
      )
      update :SCHEMA.event_log e set locked_by = $1, locked_at = now()
      from due where e.id = due.id
      returning ${CLAIMED_COLUMNS}`,

    /**
     * Takes over the events held by instances that are gone (their heartbeat lapsed or their session
     * ended), including this daemon's previous life: in-flight ones are delivered again, waiting ones
     * keep their next_retry_at.
     */
    takeOver: `
      with gone as (
        select i.id from :SCHEMA.instances i
        where i.id <> $1 and not :SCHEMA.instance_alive(i.lock_key, i.heartbeat_at, $2)
      ), orphaned as (
        select e.id from :SCHEMA.event_log e
        where e.locked_by is not null and e.locked_by <> $1
          and (e.locked_by in (select id from gone)
               or not exists (select 1 from :SCHEMA.instances i where i.id = e.locked_by))
        limit $3
        for update skip locked
      )
      update :SCHEMA.event_log e set locked_by = $1, locked_at = now()
      from orphaned where e.id = orphaned.id
      returning ${CLAIMED_COLUMNS}`,

    /** Forgets instances that are gone and hold nothing any more. */
    forgetGoneInstances: `
      delete from :SCHEMA.instances i
      where i.id <> $1 and not :SCHEMA.instance_alive(i.lock_key, i.heartbeat_at, $2)
        and not exists (select 1 from :SCHEMA.event_log e where e.locked_by = i.id)`,

    /**
     * Records a batch of attempts: each event's tries and verdict, in the same statement as its
     * invocation log. A verdict applies only while this instance ($2) still holds the event and no
     * redelivery came since the attempt began (event_log.redeliveries is still the attempt's generation).
     * Where a redelivery did come, the event is reset instead (tries 0, due now, the lock kept: the actor
     * starts over) and the row says 'applied' false with the new generation. `release` parks a retry in
     * the database instead of keeping it locked here. $1 and $3 are JSON arrays, so the logs (already JSON
     * text) travel without escaping.
     *
     * One UPDATE with the choice made per row, not two: redeliver_event holds the row (FOR UPDATE) until it
     * commits, and an UPDATE that waited for it re-evaluates its conditions and its SET on the row as
     * committed. Two UPDATEs split by condition would both have judged the row as it was before, and
     * neither would apply.
     */
    recordAttempts: `
      with outcome as (
        select * from json_to_recordset($1::json)
          as o(id uuid, tries int, verdict text, retry_delay_ms int8, release bool, generation int)
      ), written as (
        update :SCHEMA.event_log e set
          tries = case when e.redeliveries = o.generation then o.tries else 0 end,
          delivered = e.redeliveries = o.generation and o.verdict = 'delivered',
          error = e.redeliveries = o.generation and o.verdict = 'error',
          next_retry_at = case when e.redeliveries = o.generation and o.verdict = 'retry'
                               then now() + o.retry_delay_ms * interval '1 millisecond' end,
          locked_by = case when e.redeliveries <> o.generation or (o.verdict = 'retry' and not o.release)
                           then e.locked_by end,
          locked_at = case when e.redeliveries <> o.generation or (o.verdict = 'retry' and not o.release)
                           then e.locked_at end
        from outcome o
        where e.id = o.id and e.locked_by = $2
        returning e.id, e.redeliveries as generation, e.redeliveries = o.generation as applied
      ), logged as (
        insert into :SCHEMA.event_invocation_logs (event_id, trigger_name, status, request, response, duration_ms)
        select l.event_id, l.trigger_name, l.status, l.request, l.response, l.duration_ms
        from json_to_recordset($3::json)
          as l(event_id uuid, trigger_name text, status int, request jsonb, response jsonb, duration_ms int)
      )
      select id, generation, applied from written`,

    /** Lets go of events this instance holds (drain), keeping their tries and next_retry_at. */
    release: `
      update :SCHEMA.event_log set locked_by = null, locked_at = null
      where id = any($1::uuid[]) and locked_by = $2`,
    releaseAll: `update :SCHEMA.event_log set locked_by = null, locked_at = null where locked_by = $1`,
    /**
     * Hands back events an actor let go of while this instance still held them (their trigger could not
     * be found, their outcome could not be written, they were cancelled): unlocked, and due no sooner than
     * $3 ms from now, so that whatever made the actor let go cannot make the daemons fetch it in a loop.
     */
    releaseHeld: `
      update :SCHEMA.event_log
      set locked_by = null, locked_at = null,
          next_retry_at = greatest(next_retry_at, now() + $3 * interval '1 millisecond')
      where id = any($1::uuid[]) and locked_by = $2`,
  });
