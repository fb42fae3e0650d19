/** create_event_trigger and delete_event_trigger: catalog changes, each in one transaction. */
import { OPERATIONS, resolveDelivery, type TriggerDefinition } from '../../catalog/definition.js';
import { findInconsistencies, type InconsistentObject, type TriggerTableState } from '../../catalog/consistency.js';
import pg from 'pg';
import { checkColumns, findLiveTable, type LiveTable } from '../../catalog/liveSchema.js';
import { ApiError, OPERATION_PATH } from '../errors.js';
import type { CreateEventTriggerArgs, DeleteEventTriggerArgs } from '../schemas.js';
import type { ChannelCommand } from '../../catalog/channel.js';
import type { OperationContext, Tx } from './context.js';

export const SUCCESS = { message: 'success' } as const;

/** The definition to store for validated create_event_trigger args (transport-only keys dropped). */
export function definitionFromArgs(ctx: OperationContext, args: CreateEventTriggerArgs): TriggerDefinition {
  const def: TriggerDefinition = {
    name: args.name,
    table: args.table,
    headers: args.headers,
    retry_conf: args.retry_conf,
    trigger_on_replication: args.trigger_on_replication,
  };
  if (args.webhook !== undefined) def.webhook = args.webhook;
  if (args.webhook_from_env !== undefined) def.webhook_from_env = args.webhook_from_env;
  for (const op of OPERATIONS) if (args[op]) def[op] = args[op];
  if (args.enable_manual !== undefined) def.enable_manual = args.enable_manual;
  if (args.flow_control !== undefined) def.flow_control = args.flow_control;
  const transform = args.request_transform ?? args.transform;
  if (transform !== undefined) def.request_transform = transform;
  if (args.cleanup_config !== undefined) def.cleanup_config = args.cleanup_config;
  if (args.signing_secret !== undefined) def.signing_secret = args.signing_secret;
  // The daemon's STRINGIFY_NUMERIC_TYPES decides for a trigger that does not say (see migration 9).
  if (args.stringify_numeric_types ?? ctx.stringifyNumericTypes) def.stringify_numeric_types = true;
  return def;
}

/**
 * Creates a trigger, or replaces one with replace: true. The checks run in Hasura's order
 * (resolveEventTriggerQuery, then createEventTriggerQueryMetadata): the table; for replace, that the trigger
 * exists and stays on its table; the columns; without replace, that the name is free; the environment.
 */
export async function createEventTrigger(ctx: OperationContext, tx: Tx, args: CreateEventTriggerArgs) {
  const def = definitionFromArgs(ctx, args);
  const { client } = tx;
  const sql = ctx.sql.triggers;

  await client.query({ ...sql.lockCatalog, values: [ctx.schema] });
  const existing = await client.query<{ definition: TriggerDefinition }>({ ...sql.getForUpdate, values: [def.name] });
  const previous = existing.rows[0]?.definition;
  const table = await findLiveTable(client, sql, ctx.schema, def);
  if (args.replace) {
    // Hasura replaces only what exists (askTabInfoFromTrigger): replace is not an upsert.
    if (!previous) throw new ApiError('not-exists', `event trigger "${def.name}" does not exist`, OPERATION_PATH);
    // Nor can it move a trigger to another table; the table it is on now counts (it may have been renamed).
    const current = await currentTable(ctx, tx, previous);
    if (current.schema !== def.table.schema || current.name !== def.table.name) {
      throw new ApiError('not-supported', 'cannot replace table or schema for trigger', OPERATION_PATH);
    }
  }
  checkColumns(def, table);
  if (previous && !args.replace) {
    // Hasura's wording (createEventTriggerQueryMetadata).
    throw new ApiError('already-exists', `Event trigger with name "${def.name}" already exists`, OPERATION_PATH);
  }
  // Hasura builds the new trigger last (buildSchemaCacheFor), resolving its webhook and header templates
  // (invalid-configuration when it cannot), and reports all it could not resolve. The definition keeps the
  // templates; the resolved values are never stored nor answered.
  const { problems } = resolveDelivery(def, ctx.env);
  if (problems.length) throw new ApiError('invalid-configuration', problems.join('; '), OPERATION_PATH);
  await checkPrivileges(ctx, tx, def, table);

  // Replace is atomic: the old capture goes and the new one comes in the same transaction.
  if (previous) await client.query({ ...sql.dropCapture, values: [def.name] });
  await checkTriggerNamesFree(ctx, tx, def, table);
  for (const op of OPERATIONS) {
    const spec = def[op];
    if (!spec) continue;
    const listen = spec.columns === '*' ? null : spec.columns;
    const payload = spec.payload === undefined || spec.payload === '*' ? null : spec.payload;
    await client.query({
      ...sql.installCapture,
      values: [
        def.name,
        table.oid,
        op.toUpperCase(),
        listen,
        payload,
        ctx.channel,
        def.trigger_on_replication,
        def.stringify_numeric_types === true,
      ],
    });
  }
  const values = [def.name, def.table.schema, def.table.name, JSON.stringify(def), table.oid];
  await client.query({ ...(previous ? sql.replace : sql.insert), values });
  // As in Hasura (hasCleanupCronScheduleUpdated): runs scheduled by the old schedule go with it.
  if (previous && previous.cleanup_config?.schedule !== def.cleanup_config?.schedule) {
    await client.query({ ...ctx.sql.cleanups.dropScheduled, values: [def.name] });
  }
  await announceChange(ctx, tx, def.name);
  return SUCCESS;
}

export async function deleteEventTrigger(ctx: OperationContext, tx: Tx, args: DeleteEventTriggerArgs) {
  const { client } = tx;
  const sql = ctx.sql.triggers;
  await client.query({ ...sql.lockCatalog, values: [ctx.schema] });
  const existing = await client.query({ ...sql.getForUpdate, values: [args.name] });
  if (!existing.rowCount) throw new ApiError('not-exists', `event trigger "${args.name}" does not exist`, OPERATION_PATH);
  // The SQL triggers, the definition and the pending events go together, or not at all.
  await client.query({ ...sql.dropCapture, values: [args.name] });
  await client.query({ ...sql.delete, values: [args.name] });
  await client.query({ ...sql.archiveEvents, values: [args.name] });
  await client.query({ ...ctx.sql.cleanups.dropScheduled, values: [args.name] });
  await announceChange(ctx, tx, args.name);
  return SUCCESS;
}

const quotedTable = (def: TriggerDefinition) => `${pg.escapeIdentifier(def.table.schema)}.${pg.escapeIdentifier(def.table.name)}`;

/**
 * Refuses, naming the GRANT that would fix it, what PostgreSQL would refuse with 42501 halfway through
 * the install, as a database failure: USAGE on the table's schema and TRIGGER on the table for CREATE
 * TRIGGER; for trigger_on_replication, ownership (or membership in the owner role) for ALTER TABLE ...
 * ENABLE ALWAYS TRIGGER. transaction.ts still maps a 42501 that slips past (a grant revoked meanwhile).
 */
async function checkPrivileges(ctx: OperationContext, tx: Tx, def: TriggerDefinition, table: LiveTable) {
  const { rows } = await tx.client.query<{ role: string; owner: string; schema_usage: boolean; can_trigger: boolean; owns: boolean }>({
    ...ctx.sql.triggers.tablePrivileges,
    values: [table.oid],
  });
  const p = rows[0];
  if (!p) return; // dropped meanwhile: CREATE TRIGGER will say so
  const role = pg.escapeIdentifier(p.role);
  const qualified = `"${def.table.schema}.${def.table.name}"`;
  if (!p.schema_usage) {
    throw new ApiError(
      'permission-denied',
      `the daemon's database role "${p.role}" lacks the USAGE privilege on schema "${def.table.schema}": ` +
        `GRANT USAGE ON SCHEMA ${pg.escapeIdentifier(def.table.schema)} TO ${role}`,
      OPERATION_PATH,
    );
  }
  if (!p.can_trigger) {
    throw new ApiError(
      'permission-denied',
      `the daemon's database role "${p.role}" lacks the TRIGGER privilege on table ${qualified}: ` +
        `GRANT TRIGGER ON ${quotedTable(def)} TO ${role}`,
      OPERATION_PATH,
    );
  }
  if (def.trigger_on_replication && !p.owns) {
    throw new ApiError(
      'permission-denied',
      `trigger_on_replication needs the daemon's database role "${p.role}" to own table ${qualified} ` +
        `(only its owner may ENABLE ALWAYS TRIGGER), and it is owned by "${p.owner}": ` +
        `GRANT ${pg.escapeIdentifier(p.owner)} TO ${role}, or leave trigger_on_replication false`,
      OPERATION_PATH,
    );
  }
}

/**
 * A trigger already named pget_<name>_<OP> on the table (made by hand, or left by a restore) would make
 * CREATE TRIGGER fail with 42710 halfway through: refused first, naming it. Runs after a replace dropped the trigger's
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
    OPERATION_PATH,
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
  if (!row) throw new ApiError('not-exists', `event trigger "${name}" does not exist`, OPERATION_PATH);
  return row;
}

/** Tells every daemon (this one included) on commit that a trigger changed, and counts the change. */
export async function announceChange(ctx: OperationContext, tx: Tx, name: string) {
  const command: ChannelCommand = { kind: 'triggers-changed', name };
  await tx.client.query({ ...ctx.sql.triggers.notify, values: [ctx.channel, JSON.stringify(command)] });
  await tx.client.query(ctx.sql.triggers.bumpResourceVersion);
}
