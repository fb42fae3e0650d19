/**
 * export_metadata and replace_metadata: the catalog's triggers as Hasura's metadata document, and a
 * document's triggers made the catalog's, in one transaction (src/catalog/hasuraMetadata.ts maps the
 * format). replace_metadata creates, replaces and deletes triggers through the same code as
 * create_event_trigger and delete_event_trigger, so a document is checked exactly as those requests are.
 */
import { z } from 'zod';
import { REDACTED, redactDefinition, type TriggerDefinition } from '../../catalog/definition.js';
import type { TriggerTableState } from '../../catalog/consistency.js';
import { documentPath, readMetadataDocument, toMetadataDocument, type DocumentTrigger } from '../../catalog/hasuraMetadata.js';
import { ApiError, OPERATION_PATH } from '../errors.js';
import { canonicalJson } from '../json.js';
import { createEventTriggerArgs, parseArgsWith, type CreateEventTriggerArgs } from '../schemas.js';
import type { OperationContext, Tx } from './context.js';
import type { RequestInfo } from './index.js';
import { translatePgError } from './transaction.js';
import { createEventTrigger, currentTable, definitionFromArgs, deleteEventTrigger } from './triggers.js';

/** Hasura accepts any args for export_metadata (its parser ignores them). */
export const exportMetadataArgs = z.record(z.string(), z.unknown());

/** Either a metadata document itself (version 1 of the request), or {"metadata", ...} (version 2). */
export const replaceMetadataArgs = z.record(z.string(), z.unknown());

/** Refusals that make a trigger inconsistent (Hasura's inconsistent objects), not the request malformed. */
const INCONSISTENCIES = new Set(['not-exists', 'not-supported', 'invalid-configuration', 'already-exists', 'permission-denied']);

export async function exportMetadata(ctx: OperationContext, tx: Tx, _args: unknown, request: RequestInfo) {
  const { rows } = await tx.client.query<TriggerTableState>({ ...ctx.sql.triggers.tableState, values: [null] });
  const triggers = rows.map((row) => {
    // A signing secret's value never leaves the daemon: replace_metadata takes the placeholder back as "keep it".
    const definition = redactDefinition(JSON.parse(row.definition) as TriggerDefinition);
    // A renamed table is exported by its name now, so the document applies to the database as it is.
    const table = row.current_schema && row.current_table ? { schema: row.current_schema, name: row.current_table } : definition.table;
    return { definition, table };
  });
  const metadata = toMetadataDocument(triggers, ctx.sourceName);
  if (Number(request.version) !== 2) return metadata;
  return { resource_version: await resourceVersion(ctx, tx), metadata };
}

interface ReplaceOptions {
  metadata: unknown;
  base: string;
  allowInconsistent: boolean;
  allowWarnings: boolean;
  dryRun: boolean;
  v2: boolean;
}

/** What replace_metadata did (or, with dry_run, would do): this daemon's addition to Hasura's answer. */
interface Changes {
  created: string[];
  replaced: string[];
  deleted: string[];
  unchanged: string[];
}

interface InconsistentTrigger {
  type: 'event_trigger';
  name: string;
  reason: string;
  definition: Record<string, unknown>;
}

export async function replaceMetadata(ctx: OperationContext, tx: Tx, args: Record<string, unknown>, request: RequestInfo) {
  const options = replaceOptions(args);
  if (request.resourceVersion !== undefined && request.resourceVersion !== null) {
    await checkResourceVersion(ctx, tx, request.resourceVersion);
  }
  const document = readMetadataDocument(options.metadata, ctx.sourceName, options.base);
  if (!options.allowWarnings && document.warnings.length > 0) {
    throw new ApiError('metadata-warnings', 'failed due to metadata warnings', OPERATION_PATH, 400).withInternal(document.warnings);
  }
  await tx.client.query({ ...ctx.sql.triggers.lockCatalog, values: [ctx.schema] });
  const { rows } = await tx.client.query<{ name: string; definition: string }>(ctx.sql.triggers.listAll);
  const stored = new Map(rows.map((r) => [r.name, JSON.parse(r.definition) as TriggerDefinition]));
  const wanted = document.triggers.map((t) => ({ trigger: t, args: parseTrigger(withStoredSecret(t, stored)) }));
  const changes: Changes = { created: [], replaced: [], deleted: [], unchanged: [] };
  const inconsistent: InconsistentTrigger[] = [];

  // A dry run does everything in a savepoint it then rolls back: PostgreSQL drops its NOTIFYs with it.
  if (options.dryRun) await tx.client.query('savepoint pget_dry_run');
  const keep = new Set(wanted.map((w) => w.args.name));
  for (const name of stored.keys()) {
    if (keep.has(name)) continue;
    await deleteEventTrigger(ctx, tx, { name });
    changes.deleted.push(name);
  }
  for (const { trigger, args } of wanted) {
    const previous = stored.get(args.name);
    const plan = previous ? await planFor(ctx, tx, previous, args) : 'create';
    if (plan === 'unchanged') {
      changes.unchanged.push(args.name);
      continue;
    }
    const problem = await applyTrigger(ctx, tx, args, plan);
    if (problem) {
      inconsistent.push({
        type: 'event_trigger',
        name: `event_trigger ${args.name} on table ${args.table.schema}.${args.table.name}`,
        reason: `Inconsistent object: ${problem.message}${previous ? ' (the trigger is kept as it was)' : ''}`,
        definition: trigger.conf,
      });
      continue;
    }
    (plan === 'create' ? changes.created : changes.replaced).push(args.name);
  }
  if (inconsistent.length > 0 && !options.allowInconsistent) {
    throw new ApiError('unexpected', 'cannot continue due to inconsistent metadata', OPERATION_PATH, 400).withInternal(inconsistent);
  }
  if (options.dryRun) await tx.client.query('rollback to savepoint pget_dry_run');

  const warnings = document.warnings.length > 0 ? { warnings: document.warnings } : {};
  const dryRun = options.dryRun ? { dry_run: true } : {};
  if (!options.v2) return { message: 'success', ...warnings, changes, ...dryRun };
  return { is_consistent: inconsistent.length === 0, inconsistent_objects: inconsistent, ...warnings, changes, ...dryRun };
}

/** The args of both request versions (Hasura tells them apart by the "metadata" key). */
function replaceOptions(args: Record<string, unknown>): ReplaceOptions {
  if (!Object.hasOwn(args, 'metadata')) {
    return { metadata: args, base: OPERATION_PATH, allowInconsistent: false, allowWarnings: true, dryRun: false, v2: false };
  }
  const flag = (key: string, fallback: boolean) => {
    const value = args[key];
    if (value === undefined || value === null) return fallback;
    if (typeof value !== 'boolean') throw new ApiError('parse-failed', 'expected a boolean', `${OPERATION_PATH}.${key}`);
    return value;
  };
  const known = new Set(['metadata', 'allow_inconsistent_metadata', 'allow_warnings', 'dry_run']);
  const unknown = Object.keys(args).find((k) => !known.has(k));
  if (unknown) throw new ApiError('parse-failed', `unexpected key "${unknown}"`, OPERATION_PATH);
  return {
    metadata: args.metadata,
    base: `${OPERATION_PATH}.metadata`,
    allowInconsistent: flag('allow_inconsistent_metadata', false),
    allowWarnings: flag('allow_warnings', true),
    dryRun: flag('dry_run', false),
    v2: true,
  };
}

/**
 * An exported document holds signing secrets as "<redacted>" (export_metadata): applied again, that means
 * the secret stored for the trigger stays. Where none is stored there is nothing to keep: refused.
 */
function withStoredSecret(trigger: DocumentTrigger, stored: Map<string, TriggerDefinition>): DocumentTrigger {
  const args = trigger.args as Record<string, unknown> | null;
  const secret = args?.signing_secret as { value?: unknown } | undefined;
  if (!args || secret?.value !== REDACTED) return trigger;
  const kept = typeof args.name === 'string' ? stored.get(args.name)?.signing_secret : undefined;
  if (!kept) {
    throw new ApiError(
      'parse-failed',
      `"${REDACTED}" keeps the signing secret a trigger already has, and this one has none: give the secret`,
      documentPath(trigger, trigger.path, `${trigger.path}.signing_secret.value`),
    );
  }
  return { ...trigger, args: { ...args, signing_secret: kept } };
}

/** A document trigger as create_event_trigger args; malformed ones are refused at their document path. */
function parseTrigger(trigger: DocumentTrigger): CreateEventTriggerArgs {
  try {
    return parseArgsWith(createEventTriggerArgs, trigger.args, trigger.path);
  } catch (error) {
    if (error instanceof ApiError) throw error.at(documentPath(trigger, trigger.path, error.path));
    throw error;
  }
}

type Plan = 'create' | 'replace' | 'move' | 'unchanged';

/** What becomes of a stored trigger the document names: kept, replaced in place, or moved to another table. */
async function planFor(ctx: OperationContext, tx: Tx, previous: TriggerDefinition, args: CreateEventTriggerArgs): Promise<Plan> {
  const table = await currentTable(ctx, tx, previous);
  if (table.schema !== args.table.schema || table.name !== args.table.name) return 'move';
  const next = definitionFromArgs(ctx, args);
  const same = canonicalJson({ ...previous, table }) === canonicalJson(next);
  return same ? 'unchanged' : 'replace';
}

/**
 * Creates, replaces or moves one trigger inside a savepoint. What makes it inconsistent (a table or
 * column that does not exist, a variable not set...) undoes only its own savepoint and is returned;
 * a trigger that was there stays as it was. Anything else (busy, a failure) ends the request.
 */
async function applyTrigger(ctx: OperationContext, tx: Tx, args: CreateEventTriggerArgs, plan: Exclude<Plan, 'unchanged'>) {
  await tx.client.query('savepoint pget_trigger');
  try {
    if (plan === 'move') await deleteEventTrigger(ctx, tx, { name: args.name });
    await createEventTrigger(ctx, tx, { ...args, replace: plan === 'replace' });
    await tx.client.query('release savepoint pget_trigger');
    return undefined;
  } catch (caught) {
    const error = translatePgError(caught);
    if (!(error instanceof ApiError) || !INCONSISTENCIES.has(error.code)) throw error;
    await tx.client.query('rollback to savepoint pget_trigger');
    return error;
  }
}

async function resourceVersion(ctx: OperationContext, tx: Tx): Promise<number> {
  const { rows } = await tx.client.query<{ resource_version: string }>(ctx.sql.triggers.resourceVersion);
  return Number(rows[0]?.resource_version ?? 0);
}

/** Hasura's optimistic concurrency: a replace made against an older export is refused (HTTP 409). */
async function checkResourceVersion(ctx: OperationContext, tx: Tx, expected: unknown): Promise<void> {
  await tx.client.query({ ...ctx.sql.triggers.lockCatalog, values: [ctx.schema] });
  const current = await resourceVersion(ctx, tx);
  if (Number(expected) !== current) {
    throw new ApiError('conflict', `metadata resource version referenced (${String(expected)}) did not match current version`, '$', 409);
  }
}
