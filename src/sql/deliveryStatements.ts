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
  (e.payload->'trace_context')::text as trace_context,
  greatest(0, ceil(extract(epoch from (e.next_retry_at - now())) * 1000))::int8 as retry_in_ms`;

export const deliveryStatements = (schema: string) =>
  statements('delivery', schema, {
    /**
     * Claims due events trigger by trigger: $2/$3 the room for each trigger this daemon names, $4 for any
     * other. The triggers with due events nobody holds are found with a loose index scan (one probe each,
     * however many events), and each gives its oldest due events up to its room. Triggers with a
     * flow_control limit or a circuit that is not closed are left to claimFlowControlled: this is the
     * claim of every fetch while there are none, one statement (claim_due's loop cost ~0.2-0.5 ms more a
     * claim, measured on PostgreSQL 17, which is latency at a few hundred events a second).
     */
    claimDue: `
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
      ), wanted as (
        select a.name, coalesce(r.room, $4) as room
        from active a
        left join unnest($2::text[], $3::int[]) as r(name, room) on r.name = a.name
        left join :SCHEMA.event_triggers t on t.name = a.name
        where a.name is not null and coalesce(r.room, $4) > 0
          and (t.definition is null or (t.definition->'flow_control' is null and not exists (
                select 1 from :SCHEMA.endpoint_circuits c where c.endpoint = :SCHEMA.endpoint_of(t.definition))))
      ), due as (
        select c.id from wanted w cross join lateral (
          select e.id from :SCHEMA.event_log e
          where e.trigger_name = w.name
            and not e.delivered and not e.error and not e.archived and e.locked_by is null
            and coalesce(e.next_retry_at, e.created_at) <= now()
          order by coalesce(e.next_retry_at, e.created_at)
          limit w.room
          for update skip locked
        ) c
      )
      update :SCHEMA.event_log e set locked_by = $1, locked_at = now()
      where e.id = any(array(select due.id from due))
      returning ${CLAIMED_COLUMNS}, null::text as note`,

    /**
     * The claim while some trigger has a flow_control limit or its endpoint's circuit is not closed
     * (claim_due, migration 7): the same, plus those triggers' limits, checked for every daemon at once,
     * and the probes of open circuits. $5 is the probe lease beyond timeout_sec. Rows with a note: 'probe'
     * is the one event sent to see if an open circuit's endpoint is back; 'throttled' (id null) says when
     * a rate-limited trigger has its next token (retry_in_ms); 'limited' (id null), that a trigger is at
     * its max_in_flight.
     */
    claimFlowControlled: `select * from :SCHEMA.claim_due($1::uuid, $2::text[], $3::int[], $4::int, $5::int)`,

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
     * starts over) and the row says 'applied' false with the new generation. `park` releases a retry in
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
          as o(id uuid, tries int, verdict text, retry_delay_ms int8, park bool, generation int)
      ), written as (
        update :SCHEMA.event_log e set
          tries = case when e.redeliveries = o.generation then o.tries else 0 end,
          delivered = e.redeliveries = o.generation and o.verdict = 'delivered',
          error = e.redeliveries = o.generation and o.verdict = 'error',
          next_retry_at = case when e.redeliveries = o.generation and o.verdict = 'retry'
                               then now() + o.retry_delay_ms * interval '1 millisecond' end,
          locked_by = case when e.redeliveries <> o.generation or (o.verdict = 'retry' and not o.park)
                           then e.locked_by end,
          locked_at = case when e.redeliveries <> o.generation or (o.verdict = 'retry' and not o.park)
                           then e.locked_at end
        from outcome o
        where e.id = o.id and e.locked_by = $2
        returning e.id, e.redeliveries as generation, e.redeliveries = o.generation as applied
      ), logged as (
        insert into :SCHEMA.event_invocation_logs (event_id, trigger_name, status, request, response, duration_ms)
        select l.event_id, l.trigger_name, l.status, l.request, l.response, l.duration_ms
        from json_to_recordset($3::json)
          as l(event_id uuid, trigger_name text, status int, request json, response json, duration_ms int)
      )
      select id, generation, applied from written`,

    /**
     * Releases events this instance holds: unlocked, keeping their tries, and due no sooner than $3 ms
     * from now (0: as they were). Releasing with a delay is letting go: whatever made the actor give up
     * the event (its trigger missing, an outcome the database refuses) cannot make the daemons fetch it
     * in a loop.
     */
    release: `
      update :SCHEMA.event_log
      set locked_by = null, locked_at = null,
          next_retry_at = case when $3 > 0 then greatest(next_retry_at, now() + $3 * interval '1 millisecond')
                               else next_retry_at end
      where id = any($1::uuid[]) and locked_by = $2`,
    /** Releases every event this instance holds (drain), keeping their tries and next_retry_at. */
    releaseAll: `update :SCHEMA.event_log set locked_by = null, locked_at = null where locked_by = $1`,
  });
