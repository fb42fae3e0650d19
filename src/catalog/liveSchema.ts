/**
 * Checks a trigger definition against the live database: the table exists (and can carry row triggers),
 * and every column it names exists. Two steps, so that create_event_trigger can check in Hasura's order
 * (resolveEventTriggerQuery: the table, then what replace requires, then the columns).
 */
import type pg from 'pg';
import { ApiError, OPERATION_PATH } from '../api/errors.js';
import type { triggerStatements } from '../sql/triggerStatements.js';
import { OPERATIONS, type TriggerDefinition } from './definition.js';

const SYSTEM_SCHEMAS = new Set(['pg_catalog', 'information_schema', 'pg_toast']);
/** Ordinary and partitioned tables; row triggers on views or foreign tables are not supported. */
const CAPTURABLE_KINDS = new Set(['r', 'p']);

export interface LiveTable {
  /** pg_class oid, as a string (oids exceed int4). */
  oid: string;
  columns: Set<string>;
}

/** Resolves the definition's table and reads its columns; throws ApiError. */
export async function findLiveTable(
  client: pg.PoolClient,
  sql: ReturnType<typeof triggerStatements>,
  catalogSchema: string,
  def: TriggerDefinition,
): Promise<LiveTable> {
  const { schema, name } = def.table;
  const qualified = `${schema}.${name}`;
  if (schema === catalogSchema || SYSTEM_SCHEMAS.has(schema) || schema.startsWith('pg_temp')) {
    throw new ApiError('not-supported', `event triggers cannot be created on tables in schema "${schema}"`, OPERATION_PATH);
  }
  const found = await client.query<{ oid: string; relkind: string }>({ ...sql.findTable, values: [schema, name] });
  const table = found.rows[0];
  if (!table) throw new ApiError('not-exists', `table "${qualified}" does not exist`, OPERATION_PATH);
  if (!CAPTURABLE_KINDS.has(table.relkind)) {
    throw new ApiError('not-supported', `"${qualified}" is not a table (event triggers need a table)`, OPERATION_PATH);
  }
  const cols = await client.query<{ attname: string }>({ ...sql.tableColumns, values: [table.oid] });
  return { oid: table.oid, columns: new Set(cols.rows.map((r) => r.attname)) };
}

/** Throws not-exists for the first column the definition names that the table lacks. */
export function checkColumns(def: TriggerDefinition, table: LiveTable): void {
  const qualified = `${def.table.schema}.${def.table.name}`;
  for (const op of OPERATIONS) {
    const spec = def[op];
    if (!spec) continue;
    for (const key of ['columns', 'payload'] as const) {
      const list = spec[key];
      if (!Array.isArray(list)) continue;
      list.forEach((column, i) => {
        if (!table.columns.has(column)) {
          // The message says which list names it: Hasura's path stops at $.args.
          throw new ApiError(
            'not-exists',
            `column "${column}" (${op}.${key}[${i}]) does not exist in table "${qualified}"`,
            OPERATION_PATH,
          );
        }
      });
    }
  }
}
