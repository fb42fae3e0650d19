/**
 * Whether each trigger still matches the database. DDL never breaks a user's writes (the capture reads
 * the table's name when it fires and filters payload columns by key), but it can leave a trigger
 * describing a table or columns that are gone, or a capture trigger that no longer fires (ALTER TABLE
 * ... DISABLE TRIGGER). Such triggers are reported by get_inconsistent_metadata, in Hasura's shape,
 * until they are replaced or deleted (or the SQL trigger is enabled again).
 */
import { OPERATIONS, redactDefinition, type TriggerDefinition } from './definition.js';

/** A capture trigger as pg_trigger has it, on the table or on one of its partitions. */
export interface CaptureTriggerState {
  name: string;
  /** pg_trigger.tgenabled: O outside replication, A always, R only in replication, D never. */
  enabled: 'O' | 'A' | 'R' | 'D';
  /** A clone of the table's trigger on one of its partitions. */
  partition: boolean;
  /** schema.table the trigger is on. */
  table: string;
}

/** One row of the tableState statement. */
export interface TriggerTableState {
  name: string;
  definition: string;
  current_schema: string | null;
  current_table: string | null;
  columns: string[] | null;
  triggers: string[] | null;
  trigger_states: CaptureTriggerState[] | null;
}

/**
 * Why a capture trigger in this state does not capture what the definition asks for, or undefined.
 * A trigger that does not fire raises no error anywhere, so this report is the only place a
 * `DISABLE TRIGGER` (or `ALL`) shows. `where` says which of the table's triggers it is, when not all
 * of them are alike.
 */
function enabledProblem(state: CaptureTriggerState, op: string, onReplication: boolean, where: string): string | undefined {
  switch (state.enabled) {
    case 'D':
      return `the SQL trigger ${state.name} is disabled${where} (ALTER TABLE ... DISABLE TRIGGER): ${op} is not captured`;
    case 'R':
      return `the SQL trigger ${state.name} is enabled for replication only${where} (ENABLE REPLICA TRIGGER): ${op} is captured only from replication`;
    case 'O':
      return onReplication
        ? `the SQL trigger ${state.name} does not fire for replicated rows${where}, although trigger_on_replication is true: ${op} from replication is not captured`
        : undefined;
    case 'A':
      return onReplication
        ? undefined
        : `the SQL trigger ${state.name} fires for replicated rows too${where} (ENABLE ALWAYS TRIGGER), although trigger_on_replication is false`;
  }
}

/**
 * The problems of one capture trigger's states. On a partitioned table, rows fire the clone of the
 * trigger on the partition that holds them, so each clone counts. ALTER TABLE on the partitioned table
 * changes the trigger and every clone alike (one reason for the table); ALTER TABLE ONLY, or on one
 * partition, makes them differ: each is then reported with the table it is on.
 */
function enabledProblems(states: CaptureTriggerState[], op: string, onReplication: boolean): string[] {
  const own = states.find((s) => !s.partition);
  if (own && states.every((s) => s.enabled === own.enabled)) {
    const problem = enabledProblem(own, op, onReplication, '');
    return problem ? [problem] : [];
  }
  return states.flatMap((s) => {
    const where = s.partition ? ` on partition "${s.table}"` : ` on "${s.table}" itself`;
    const problem = enabledProblem(s, op, onReplication, where);
    return problem ? [problem] : [];
  });
}

export interface InconsistentObject {
  type: 'event_trigger';
  name: string;
  reason: string;
  definition: TriggerDefinition;
}

export function findInconsistencies(row: TriggerTableState): InconsistentObject | undefined {
  const def = JSON.parse(row.definition) as TriggerDefinition;
  const reasons: string[] = [];
  const table = `${def.table.schema}.${def.table.name}`;
  if (row.current_table === null) {
    reasons.push(`table "${table}" no longer exists: the trigger captures nothing`);
  } else {
    const columns = new Set(row.columns ?? []);
    const triggers = new Set(row.triggers ?? []);
    for (const op of OPERATIONS) {
      const spec = def[op];
      if (!spec) continue;
      const capture = `pget_${def.name}_${op.toUpperCase()}`;
      if (!triggers.has(capture)) reasons.push(`the SQL trigger ${capture} is missing: ${op.toUpperCase()} is not captured`);
      const states = (row.trigger_states ?? []).filter((s) => s.name === capture);
      reasons.push(...enabledProblems(states, op.toUpperCase(), def.trigger_on_replication));
      for (const key of ['columns', 'payload'] as const) {
        const list = spec[key];
        if (!Array.isArray(list)) continue;
        const missing = list.filter((c) => !columns.has(c));
        if (missing.length) {
          reasons.push(
            `${op}.${key} names column${missing.length > 1 ? 's' : ''} ${missing.map((c) => `"${c}"`).join(', ')} that no longer exist${missing.length > 1 ? '' : 's'} in "${row.current_schema}.${row.current_table}"`,
          );
        }
      }
    }
  }
  if (reasons.length === 0) return undefined;
  return {
    type: 'event_trigger',
    name: `event_trigger ${def.name} on table ${table}`,
    reason: reasons.join('; '),
    definition: redactDefinition(def),
  };
}
