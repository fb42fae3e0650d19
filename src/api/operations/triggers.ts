/** create_event_trigger and delete_event_trigger: catalog changes, each in one transaction. */
import {
  OPERATIONS,
  definitionFromArgs,
  missingEnvironment,
  type TriggerDefinition,
} from '../../catalog/definition.js';
import { findInconsistencies, type InconsistentObject, type TriggerTableState } from '../../catalog/consistency.js';
import pg from 'pg';
import { checkAgainstLiveSchema, type LiveTable } from '../../catalog/liveSchema.js';
import { ApiError } from '../errors.js';
import type { CreateEventTriggerArgs, DeleteEventTriggerArgs } from '../schemas.js';
import type { ChannelCommand } from '../../catalog/channel.js';
import type { OperationContext, Tx } from './context.js';

export const SUCCESS = { message: 'success' } as const;

export async function createEventTrigger(ctx: OperationContext, tx: Tx, args: CreateEventTriggerArgs) {
  const def = definitionFromArgs(args);
  const { client } = tx;
  const sql = ctx.sql.triggers;

  const [problem] = missingEnvironment(def, ctx.env);
  if (problem) throw new ApiError('invalid-configuration', problem.message, `$.args.${problem.path}`);
  const hasOperation = OPERATIONS.some((op) => def[op] !== undefined);
  if (!hasOperation && def.enable_manual === false) {
    throw new ApiError(
      'invalid-configuration',
      'the trigger has no insert, update or delete and enable_manual is false: it could never fire',
      '$.args',
    );
  }

  await client.query({ ...sql.lockCatalog, values: [ctx.schema] });
  const existing = await client.query({ ...sql.getForUpdate, values: [def.name] });
  if (existing.rowCount && !args.replace) {
    throw new ApiError('already-exists', `event trigger "${def.name}" already exists`, '$.args.name');
  }
  const table = await checkAgainstLiveSchema(client, sql, ctx.schema, def);
  await checkPrivileges(ctx, tx, def, table);

  // Replace is atomic: the old capture goes and the new one comes in the same transaction.
  if (existing.rowCount) await client.query({ ...sql.dropCapture, values: [def.name] });
  await checkTriggerNamesFree(ctx, tx, def, table);
  for (const op of OPERATIONS) {
    const spec = def[op];
    if (!spec) continue;
    const listen = spec.columns === '*' ? null : spec.columns;
    const payload = spec.payload === undefined || spec.payload === '*' ? null : spec.payload;
    await client.query({
      ...sql.installCapture,
      values: [def.name, table.oid, op.toUpperCase(), listen, payload, ctx.channel, def.trigger_on_replication],
    });
  }
  const values = [def.name, def.table.schema, def.table.name, JSON.stringify(def), table.oid];
  await client.query({ ...(existing.rowCount ? sql.replace : sql.insert), values });
  await announceChange(ctx, tx, def.name);
  return SUCCESS;
}

export async function deleteEventTrigger(ctx: OperationContext, tx: Tx, args: DeleteEventTriggerArgs) {
  const { client } = tx;
  const sql = ctx.sql.triggers;
  await client.query({ ...sql.lockCatalog, values: [ctx.schema] });
  const existing = await client.query({ ...sql.getForUpdate, values: [args.name] });
  if (!existing.rowCount) throw new ApiError('not-exists', `event trigger "${args.name}" does not exist`, '$.args.name');
  // The SQL triggers, the definition and the pending events go together, or not at all.
  await client.query({ ...sql.dropCapture, values: [args.name] });
  await client.query({ ...sql.delete, values: [args.name] });
  await client.query({ ...sql.archiveEvents, values: [args.name] });
  await announceChange(ctx, tx, args.name);
  return SUCCESS;
}

const quotedTable = (def: TriggerDefinition) => `${pg.escapeIdentifier(def.table.schema)}.${pg.escapeIdentifier(def.table.name)}`;

/**
 * Refuses, naming the GRANT that would fix it, what PostgreSQL would refuse with 42501 halfway through
 * the install (it used to answer 500): USAGE on the table's schema and TRIGGER on the table for CREATE
 * TRIGGER; for trigger_on_replication, ownership (or membership in the owner role) for ALTER TABLE ...
 * ENABLE ALWAYS TRIGGER. transaction.ts still maps a 42501 that slips past (a grant revoked meanwhile).
 */
async function checkPrivileges(ctx: OperationContext, tx: Tx, def: TriggerDefinition, table: LiveTable) {
  const { rows } = await tx.client.query<{ role: string; owner: string; schema_usage: boolean; can_trigger: boolean; owns: boolean }>(
    { ...ctx.sql.triggers.tablePrivileges, values: [table.oid] },
  );
  const p = rows[0];
  if (!p) return; // dropped meanwhile: CREATE TRIGGER will say so
  const role = pg.escapeIdentifier(p.role);
  const qualified = `"${def.table.schema}.${def.table.name}"`;
  if (!p.schema_usage) {
    throw new ApiError(
      'permission-denied',
      `the daemon's database role "${p.role}" lacks the USAGE privilege on schema "${def.table.schema}": ` +
        `GRANT USAGE ON SCHEMA ${pg.escapeIdentifier(def.table.schema)} TO ${role}`,
      '$.args.table',
    );
  }
  if (!p.can_trigger) {
    throw new ApiError(
      'permission-denied',
      `the daemon's database role "${p.role}" lacks the TRIGGER privilege on table ${qualified}: ` +
        `GRANT TRIGGER ON ${quotedTable(def)} TO ${role}`,
      '$.args.table',
    );
  }
  if (def.trigger_on_replication && !p.owns) {
    throw new ApiError(
      'permission-denied',
      `trigger_on_replication needs the daemon's database role "${p.role}" to own table ${qualified} ` +
        `(only its owner may ENABLE ALWAYS TRIGGER), and it is owned by "${p.owner}": ` +
        `GRANT ${pg.escapeIdentifier(p.owner)} TO ${role}, or leave trigger_on_replication false`,
      '$.args.trigger_on_replication',
    );
  }
}

/**
 * A trigger already named pget_<name>_<OP> on the table (made by hand, or left by a restore) would make
 * CREATE TRIGGER fail with 42710, which used to answer 500. Runs after a replace dropped the trigger's
 * own capture, so only someone else's trigger is found.
 */
async function checkTriggerNamesFree(ctx: OperationContext, tx: Tx, def: TriggerDefinition, table: LiveTable) {
  const names = OPERATIONS.filter((op) => def[op] !== undefined).map((op) => `pget_${def.name}_${op.toUpperCase()}`);
  if (names.length === 0) return;
  const { rows } = await tx.client.query<{ name: string }>({ ...ctx.sql.triggers.triggersNamed, values: [table.oid, names] });
  const taken = rows[0];
  if (!taken) return;
  throw new ApiError(
    'already-exists',
    `table "${def.table.schema}.${def.table.name}" already has a trigger named "${taken.name}" that is not this event ` +
      `trigger's: drop or rename that trigger, or give the event trigger another name`,
    '$.args.name',
  );
}

/** Hasura's get_inconsistent_metadata: triggers whose table or columns are gone since they were made. */
export async function getInconsistentMetadata(ctx: OperationContext, tx: Tx) {
  const { rows } = await tx.client.query<TriggerTableState>({ ...ctx.sql.triggers.tableState, values: [null] });
  const inconsistent = rows.map(findInconsistencies).filter((o): o is InconsistentObject => o !== undefined);
  return { is_consistent: inconsistent.length === 0, inconsistent_objects: inconsistent };
}

/** The table a trigger captures as it is named now (after renames), or as defined if it is gone. */
export async function currentTable(ctx: OperationContext, tx: Tx, def: TriggerDefinition) {
  const { rows } = await tx.client.query<TriggerTableState>({ ...ctx.sql.triggers.tableState, values: [def.name] });
  const row = rows[0];
  if (!row?.current_table || !row.current_schema) return def.table;
  return { schema: row.current_schema, name: row.current_table };
}

/** Reads a stored definition, or throws not-exists. */
export async function loadDefinition(ctx: OperationContext, tx: Tx, name: string) {
  const found = await tx.client.query<{ id: string; definition: TriggerDefinition }>({
    ...ctx.sql.triggers.get,
    values: [name],
  });
  const row = found.rows[0];
  if (!row) throw new ApiError('not-exists', `event trigger "${name}" does not exist`, '$.args.name');
  return row;
}

/** Tells every daemon (this one included) on commit that a trigger changed. */
async function announceChange(ctx: OperationContext, tx: Tx, name: string) {
  const command: ChannelCommand = { kind: 'triggers-changed', name };
  await tx.client.query({ ...ctx.sql.triggers.notify, values: [ctx.channel, JSON.stringify(command)] });
}
