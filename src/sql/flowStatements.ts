/**
 * Statements behind get_flow_control_state and the database's gauges in /v1/metrics: each trigger's
 * circuit, limits and events, over every daemon. Bounded by the triggers: a few index probes each.
 */
import { statements } from './schemaText.js';

/** Every trigger with its endpoint's circuit (no row: closed). */
const TRIGGERS_WITH_CIRCUITS = `
  from :SCHEMA.event_triggers t
  left join :SCHEMA.endpoint_circuits c on c.endpoint = :SCHEMA.endpoint_of(t.definition)`;

/** A trigger's events that wait in the database, held by no daemon: event_log_due_by_trigger's rows. */
const UNCLAIMED_OF_TRIGGER = `
  e.trigger_name = t.name and not e.delivered and not e.error and not e.archived and e.locked_by is null`;

export const flowStatements = (schema: string) =>
  statements('flow', schema, {
    /** Trigger $1, or every trigger ($1 null), by name. */
    state: `
      select t.name, :SCHEMA.endpoint_of(t.definition) as endpoint, t.definition->'flow_control' as flow_control,
        c.state as circuit_state, c.openings, c.reason,
        to_char(c.open_until at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as open_until,
        (select count(*) from :SCHEMA.event_log e
         where e.trigger_name = t.name and e.locked_by is not null
           and (e.next_retry_at is null or e.next_retry_at <= now()))::int as in_flight
      ${TRIGGERS_WITH_CIRCUITS}
      where $1::text is null or t.name = $1
      order by t.name`,

    /**
     * What /v1/metrics reports of the database, in one statement: the daemons alive ($2: the heartbeat
     * timeout), and per trigger its circuit and the events waiting in the database: due (pending) and
     * parked for a later retry, each counted up to $1 (a range of event_log_due_by_trigger, cut off so
     * that a backlog of millions costs a scrape no more than $1 index entries), and how long the oldest
     * due one has been due (one probe of the same index). At least one row, even without triggers.
     */
    gauges: `
      select d.daemons_alive, g.name, g.circuit_state, g.pending, g.parked, g.oldest_due_seconds
      from (select count(*)::int as daemons_alive from :SCHEMA.instances i
            where :SCHEMA.instance_alive(i.lock_key, i.heartbeat_at, $2::int)) d
      left join lateral (
        select t.name, coalesce(c.state, 'closed') as circuit_state,
          (select count(*) from (select 1 from :SCHEMA.event_log e
             where ${UNCLAIMED_OF_TRIGGER} and coalesce(e.next_retry_at, e.created_at) <= now() limit $1::int) due)::int as pending,
          (select count(*) from (select 1 from :SCHEMA.event_log e
             where ${UNCLAIMED_OF_TRIGGER} and coalesce(e.next_retry_at, e.created_at) > now() limit $1::int) later)::int as parked,
          extract(epoch from now() - (select min(coalesce(e.next_retry_at, e.created_at)) from :SCHEMA.event_log e
             where ${UNCLAIMED_OF_TRIGGER} and coalesce(e.next_retry_at, e.created_at) <= now()))::float8 as oldest_due_seconds
        ${TRIGGERS_WITH_CIRCUITS}
      ) g on true
      order by g.name`,
  });

export interface FlowStateRow {
  name: string;
  endpoint: string;
  flow_control: { max_in_flight?: number; max_events_per_second?: number } | null;
  circuit_state: 'open' | 'half_open' | null;
  openings: number | null;
  reason: string | null;
  open_until: string | null;
  in_flight: number;
}

/** A row of `gauges`: name null when there is no trigger. */
export interface GaugeRow {
  daemons_alive: number;
  name: string | null;
  circuit_state: 'closed' | 'open' | 'half_open' | null;
  pending: number | null;
  parked: number | null;
  /** null when nothing is due. */
  oldest_due_seconds: number | null;
}
