/**
 * Statements of the circuit breakers (endpoint_circuits, migration 7). Each change is announced on the
 * catalog's channel in the same statement, so every daemon learns of it at once.
 */
import { statements } from './schemaText.js';

/** A circuit as the daemons and the API see it; open_until and probe_until in epoch ms. */
const CIRCUIT_COLUMNS = `
  c.endpoint, c.state, c.openings, c.reason,
  floor(extract(epoch from c.opened_at) * 1000)::int8 as opened_at_ms,
  floor(extract(epoch from c.open_until) * 1000)::int8 as open_until_ms,
  c.probe_by, floor(extract(epoch from c.probe_until) * 1000)::int8 as probe_until_ms`;

export const circuitStatements = (schema: string) =>
  statements('circuits', schema, {
    /**
     * Opens the circuit of endpoint $1 for a cool-down of $2 ms × 2^(openings so far), at most $3 ms.
     * An open circuit whose cool-down is not over stays as it is (several daemons may reach their
     * threshold together); so does a half-open one whose probe is another daemon's and still under way.
     * The prober ($4) failing, or a cool-down that ended without a probe, opens it again for longer.
     * $5 is the reason, $6 the channel.
     */
    open: `
      with opened as (
        insert into :SCHEMA.endpoint_circuits as c (endpoint, state, openings, opened_at, open_until, reason)
        values ($1, 'open', 1, now(), now() + $2::float8 * interval '1 millisecond', $5)
        on conflict (endpoint) do update set
          state = 'open',
          openings = c.openings + 1,
          opened_at = now(),
          open_until = now() + least($3::float8, $2::float8 * power(2, least(c.openings, 40))) * interval '1 millisecond',
          probe_by = null,
          probe_until = null,
          reason = $5
        where not (c.state = 'open' and c.open_until > now())
          and not (c.state = 'half_open' and c.probe_by is distinct from $4::uuid and c.probe_until > now())
        returning c.*
      ), current as (
        select * from opened
        union all
        select c.* from :SCHEMA.endpoint_circuits c where c.endpoint = $1 and not exists (select 1 from opened)
      )
      select ${CIRCUIT_COLUMNS}, pg_notify($6, json_build_object('kind', 'circuit-changed', 'endpoint', $1::text)::text)
      from current c`,

    /** Closes the circuit of endpoint $1 after the probe of instance $2 succeeded; $3 is the channel. */
    close: `
      with closed as (
        delete from :SCHEMA.endpoint_circuits c where c.endpoint = $1 and c.probe_by = $2 returning c.endpoint
      )
      select endpoint, pg_notify($3, json_build_object('kind', 'circuit-changed', 'endpoint', endpoint)::text) from closed`,

    /** One circuit ($1), or every circuit that is not closed ($1 null). */
    get: `select ${CIRCUIT_COLUMNS} from :SCHEMA.endpoint_circuits c where $1::text is null or c.endpoint = $1`,
  });

/** A row of CIRCUIT_COLUMNS. */
export interface CircuitRow {
  endpoint: string;
  state: 'open' | 'half_open';
  openings: number;
  reason: string;
  opened_at_ms: string;
  open_until_ms: string;
  probe_by: string | null;
  probe_until_ms: string | null;
}
