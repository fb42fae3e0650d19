/**
 * Statements behind get_flow_control_state: each trigger's circuit, limits and events in flight, over
 * every daemon. Bounded by the triggers (one index probe of the events held, per trigger).
 */
import { statements } from './schemaText.js';

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
      from :SCHEMA.event_triggers t
      left join :SCHEMA.endpoint_circuits c on c.endpoint = :SCHEMA.endpoint_of(t.definition)
      where $1::text is null or t.name = $1
      order by t.name`,
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
