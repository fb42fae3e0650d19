/** The shapes of the API answers the console reads (docs/api.md). */

export type ColumnSelection = '*' | string[];

export interface OperationSpec {
  columns: ColumnSelection;
  payload?: ColumnSelection;
}

export type HeaderSpec = { name: string; value: string } | { name: string; value_from_env: string };

export interface TriggerDefinition {
  name: string;
  table: { schema: string; name: string };
  webhook?: string;
  webhook_from_env?: string;
  insert?: OperationSpec;
  update?: OperationSpec;
  delete?: OperationSpec;
  headers: HeaderSpec[];
  retry_conf: { num_retries: number; interval_sec: number; timeout_sec: number };
  enable_manual?: boolean;
  trigger_on_replication: boolean;
}

export type CountName = 'pending' | 'retrying' | 'failed' | 'delivered';

export interface TriggerSummary {
  name: string;
  id: string;
  table: { schema: string; name: string };
  table_exists: boolean;
  definition: TriggerDefinition;
  created_at: string;
  updated_at: string;
  counts: Record<CountName, number>;
  counts_at_least: CountName[];
}

export interface TriggerList {
  triggers: TriggerSummary[];
  delivered_since: string;
  count_limit: number;
}

export interface StatsMinute {
  minute: string;
  delivered: number;
  failed: number;
  /** Average and slowest attempt of the minute, in ms, when the daemon records durations. */
  latency_ms_avg?: number | null;
  latency_ms_max?: number | null;
}

export interface DeliveryStats {
  since: string;
  until: string;
  minutes: StatsMinute[];
  oldest_counted: string | null;
  attempt_limit: number;
}

export type EventStatus = 'pending' | 'retrying' | 'delivered' | 'error' | 'archived';

export interface EventRow {
  id: string;
  trigger_name: string;
  schema_name: string;
  table_name: string;
  op: string | null;
  status: EventStatus;
  tries: number;
  created_at: string;
  next_retry_at: string | null;
  locked_by: string | null;
  archived: boolean;
  payload_preview: string;
  payload_bytes: number;
}

export interface InvocationRow {
  id: string;
  event_id: string;
  http_status: number | null;
  type: string | null;
  created_at: string;
  duration_ms?: number | null;
  response_preview: string;
}

export interface Event {
  id: string;
  schema_name: string;
  table_name: string;
  trigger_name: string;
  payload: unknown;
  delivered: boolean;
  error: boolean;
  tries: number;
  created_at: string;
  locked: string | null;
  locked_by: string | null;
  next_retry_at: string | null;
  archived: boolean;
  status: EventStatus;
}

export interface Invocation {
  id: string;
  event_id: string;
  http_status: number | null;
  request: { headers?: Array<{ name: string; value?: string; value_from_env?: string }>; payload?: unknown };
  response: { type?: string; data?: { status?: number; message?: string; body?: unknown; headers?: unknown } };
  created_at: string;
  duration_ms?: number | null;
}

export interface FlowControlState {
  triggers: Array<{
    name: string;
    circuit: {
      state: 'closed' | 'open' | 'half_open';
      open_until: string | null;
      consecutive_failures: number;
      /** Why it opened ("HTTP 503 in 4 ms"), and how many times since the endpoint last worked. */
      reason?: string | null;
      openings?: number;
    };
    in_flight: number;
  }>;
}
