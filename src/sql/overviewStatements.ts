/**
 * Statements behind the console's overview operations (get_event_triggers, get_delivery_stats). The
 * console runs them every few seconds, so each reads through an index and stops at a bound: a count stops
 * at its limit ($2), the unsettled events are scanned once for every trigger, and the chart reads one
 * hour of each trigger's invocation logs at most, its newest attempts first.
 */
import { utc } from './eventStatements.js';
import { statements } from './schemaText.js';

export const overviewStatements = (schema: string) =>
  statements('overview', schema, {
    /**
     * Each trigger ($1: one, or null: all) with its definition, its table as named now, and its counts:
     * - pending (retrying among them): events not settled, read once for all triggers from the two indexes
     *   that hold them, event_log_due_by_trigger (nobody holds them) and event_log_held_by_trigger (a daemon
     *   holds them: in flight, or waiting for a retry), each scan stopping after $2 rows (pending_capped
     *   says one did);
     * - failed: from event_log_failed (migration 10), at most $2;
     * - delivered: events created since $3 that were delivered, through event_log_trigger, at most $2.
     * The counts read their index newest first ("order by created_at desc"), which keeps PostgreSQL on
     * the index even in a generic plan, where it cannot tell how much of the table "since $3" leaves.
     */
    triggers: `
      with free as (
        select e.trigger_name, e.next_retry_at from :SCHEMA.event_log e
        where not e.delivered and not e.error and not e.archived and e.locked_by is null
        order by coalesce(e.next_retry_at, e.created_at)
        limit $2
      ), held as (
        select e.trigger_name, e.next_retry_at from :SCHEMA.event_log e
        where e.locked_by is not null and not e.delivered and not e.error and not e.archived
        limit $2
      ), unsettled as (
        select u.trigger_name, count(*)::int as pending, count(*) filter (where u.next_retry_at > now())::int as retrying
        from (select * from free union all select * from held) u
        group by u.trigger_name
      ), capped as (
        select (select count(*) from free) >= $2 or (select count(*) from held) >= $2 as pending_capped
      )
      select t.name, t.id, t.definition::text as definition,
             coalesce(n.nspname::text, t.schema_name) as current_schema,
             coalesce(c.relname::text, t.table_name) as current_table,
             c.oid is not null as table_exists,
             ${utc('t.created_at')} as created_at, ${utc('t.updated_at')} as updated_at,
             coalesce(u.pending, 0) as pending, coalesce(u.retrying, 0) as retrying, capped.pending_capped,
             (select count(*)::int from (
                select 1 from :SCHEMA.event_log f
                where f.trigger_name = t.name and f.error and not f.archived
                order by f.created_at desc
                limit $2) x) as failed,
             (select count(*)::int from (
                select 1 from :SCHEMA.event_log d
                where d.trigger_name = t.name and d.created_at >= $3::timestamptz and d.delivered
                order by d.created_at desc
                limit $2) x) as delivered
      from :SCHEMA.event_triggers t
      cross join capped
      left join unsettled u on u.trigger_name = t.name
      left join pg_catalog.pg_class c on c.oid = t.table_oid and c.relkind in ('r', 'p')
      left join pg_catalog.pg_namespace n on n.oid = c.relnamespace
      where $1::text is null or t.name = $1
      order by t.name`,

    /**
     * Attempts per minute since $2 of each trigger ($1: one, or null: all): delivered (a 2xx answer) and
     * failed (any other answer, or none), and their latency (duration_ms, migration 6: the average and the
     * slowest; null for a minute whose attempts were all logged before durations were). Each trigger's
     * newest $3 attempts at most, through event_invocation_logs_trigger; a trigger whose scan stopped
     * there says from when its counts are whole (oldest_counted).
     */
    deliveryStats: `
      with per_trigger as (
        select t.name, a.*
        from :SCHEMA.event_triggers t
        cross join lateral (
          select l.created_at, l.status, l.duration_ms
          from :SCHEMA.event_invocation_logs l
          where l.trigger_name = t.name and l.created_at >= $2::timestamptz
          order by l.created_at desc
          limit $3
        ) a
        where $1::text is null or t.name = $1
      ), capped as (
        select max(oldest) as oldest_counted from (
          select p.name, min(p.created_at) as oldest from per_trigger p group by p.name having count(*) >= $3
        ) x
      )
      select ${utc("date_trunc('minute', p.created_at)")} as minute,
             count(*) filter (where p.status between 200 and 299)::int as delivered,
             count(*) filter (where p.status is null or p.status not between 200 and 299)::int as failed,
             round(avg(p.duration_ms))::int as latency_ms_avg, max(p.duration_ms) as latency_ms_max,
             (select ${utc('oldest_counted')} from capped) as oldest_counted
      from per_trigger p
      group by date_trunc('minute', p.created_at)
      order by 1`,
  });
