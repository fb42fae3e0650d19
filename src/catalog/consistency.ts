/**
 * Whether each trigger still matches the database. DDL never breaks a user's writes (the capture reads
 * the table's name when it fires and filters payload columns by key), but it can leave a trigger
 * describing a table or columns that are gone. Such triggers are reported by get_inconsistent_metadata,
 * in Hasura's shape, until they are replaced or deleted.
 */
import { OPERATIONS, type TriggerDefinition } from './definition.js';

/** One row of the tableState statement. */
export interface TriggerTableState {
  name: string;
  definition: string;
  current_schema: string | null;
  current_table: string | null;
  columns: string[] | null;
  triggers: string[] | null;
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
      for (const key of ['columns', 'payload'] as const) {
        const list = spec[key];
        if (!Array.isArray(list)) continue;
        const missing = list.filter((c) => !columns.has(c));
        if (missing.length) {
          reasons.push(`${op}.${key} names column${missing.length > 1 ? 's' : ''} ${missing.map((c) => `"${c}"`).join(', ')} that no longer exist${missing.length > 1 ? '' : 's'} in "${row.current_schema}.${row.current_table}"`);
        }
      }
    }
  }
  if (reasons.length === 0) return undefined;
  return { type: 'event_trigger', name: `event_trigger ${def.name} on table ${table}`, reason: reasons.join('; '), definition: def };
}
