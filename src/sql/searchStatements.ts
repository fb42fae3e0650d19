/**
 * Statements behind search_event_logs and search_event_invocation_logs: a trigger's events or attempts,
 * newest first, filtered by status, time range and event id, one page (and one row more, to tell whether
 * another page follows). Rows are light: a preview of the payload or response instead of the whole (a
 * list of a hundred 1 MB payloads is for no screen); get_event_by_id gives the whole of one event.
 *
 * Each status has a statement of its own, its condition written out, so that PostgreSQL plans it with the
 * index that condition matches (event_log_failed for error) even as a generic plan; an event id is looked
 * up by its primary key. The time range is a range of the index's created_at ($2, $3: null for unbounded).
 */
import { EVENT_STATUS, utc } from './eventStatements.js';
import { statements } from './schemaText.js';

/** The event filters, each a condition on event_log e. */
export const EVENT_FILTERS = {
  all: 'true',
  pending: 'not e.delivered and not e.error and not e.archived',
  processed: '(e.delivered or e.error) and not e.archived',
  delivered: 'e.delivered and not e.archived',
  error: 'e.error and not e.archived',
} as const;
export type EventFilter = keyof typeof EVENT_FILTERS;

/** The attempt filters, each a condition on event_invocation_logs l: an answer in 2xx, or anything else. */
export const INVOCATION_FILTERS = {
  all: 'true',
  success: 'l.status between 200 and 299',
  failure: '(l.status is null or l.status not between 200 and 299)',
} as const;
export type InvocationFilter = keyof typeof INVOCATION_FILTERS;

/** Characters of a payload or response shown in a list row. */
const PREVIEW = 200;

const EVENT_ROW = `json_build_object(
  'id', e.id,
  'trigger_name', e.trigger_name,
  'schema_name', e.schema_name,
  'table_name', e.table_name,
  'op', e.payload->>'op',
  'status', ${EVENT_STATUS},
  'delivered', e.delivered,
  'error', e.error,
  'archived', e.archived,
  'tries', e.tries,
  'created_at', ${utc('e.created_at')},
  'next_retry_at', ${utc('e.next_retry_at')},
  'locked_by', e.locked_by,
  'payload_preview', left(coalesce(e.payload->'data'->'new', e.payload->'data'->'old', 'null')::text, ${PREVIEW}),
  'payload_bytes', octet_length(e.payload::text))`;

const INVOCATION_ROW = `json_build_object(
  'id', l.id,
  'event_id', l.event_id,
  'trigger_name', l.trigger_name,
  'http_status', l.status,
  'type', l.response::jsonb->>'type',
  'created_at', ${utc('l.created_at')},
  'duration_ms', l.duration_ms,
  'response_preview', left(coalesce(l.response::jsonb->'data'->>'message', l.response::jsonb->'data'->>'body', (l.response::jsonb->'data')::text, ''), ${PREVIEW}))`;

/**
 * A page of rows rendered as one JSON array, newest first ($4 rows from offset $5; the caller asks for
 * one more than it shows). `alias` is the table's alias in `from`.
 */
const page = (row: string, from: string, alias: string, where: string) => `
  select coalesce(json_agg(p.row order by p.created_at desc, p.id), '[]')::text as json
  from (
    select ${row} as row, ${alias}.created_at, ${alias}.id
    from ${from}
    where ${where}
    order by ${alias}.created_at desc, ${alias}.id
    limit $4 offset $5
  ) p`;

const TIME_RANGE = (column: string) =>
  `${column} >= coalesce($2::timestamptz, '-infinity') and ${column} < coalesce($3::timestamptz, 'infinity')`;

function eventSearches() {
  const out: Record<string, string> = {};
  for (const [status, condition] of Object.entries(EVENT_FILTERS)) {
    out[`events_${status}`] = page(
      EVENT_ROW,
      ':SCHEMA.event_log e',
      'e',
      `e.trigger_name = $1 and ${condition} and ${TIME_RANGE('e.created_at')}`,
    );
    out[`event_${status}`] = page(
      EVENT_ROW,
      ':SCHEMA.event_log e',
      'e',
      `e.id = $6::uuid and e.trigger_name = $1 and ${condition} and ${TIME_RANGE('e.created_at')}`,
    );
  }
  for (const [status, condition] of Object.entries(INVOCATION_FILTERS)) {
    out[`invocations_${status}`] = page(
      INVOCATION_ROW,
      ':SCHEMA.event_invocation_logs l',
      'l',
      `l.trigger_name = $1 and ${condition} and ${TIME_RANGE('l.created_at')}`,
    );
    out[`invocations_of_event_${status}`] = page(
      INVOCATION_ROW,
      ':SCHEMA.event_invocation_logs l',
      'l',
      `l.event_id = $6::uuid and l.trigger_name = $1 and ${condition} and ${TIME_RANGE('l.created_at')}`,
    );
  }
  return out;
}

export const searchStatements = (schema: string) => statements('search', schema, eventSearches());

/** The statement key of a search: by status, and whether an event id narrows it. */
export const eventSearchKey = (status: EventFilter, byId: boolean) => `${byId ? 'event' : 'events'}_${status}`;
export const invocationSearchKey = (status: InvocationFilter, byEvent: boolean) =>
  `${byEvent ? 'invocations_of_event' : 'invocations'}_${status}`;
