/**
 * Event-log retention, with Hasura's operations and argument shapes: cleanup_event_trigger_logs (a one-off
 * cleanup), pause_event_trigger_cleanups and resume_event_trigger_cleanups (cleanup_config.paused of the
 * triggers named, or of every trigger of the sources named).
 */
import { BatchTimedOut, cleanEventLogs } from '../../cleanup/logCleaner.js';
import { ApiError, OPERATION_PATH } from '../errors.js';
import type { CleanupEventTriggerLogsArgs, EventTriggerCleanupsArgs } from '../cleanupSchemas.js';
import type { OperationContext, Tx } from './context.js';
import { announceChange, SUCCESS } from './triggers.js';

/**
 * Deletes the trigger's settled events older than clear_older_than hours, batch after batch, each in its
 * own transaction (so not within a bulk: see index.ts). Answers what it deleted, under the names of
 * Hasura's cleanup history. A batch over its timeout stops the cleanup, as in Hasura: the answer is then
 * an error that says what the batches before it deleted.
 */
export async function cleanupEventTriggerLogs(ctx: OperationContext, args: CleanupEventTriggerLogsArgs) {
  const found = await ctx.pool.query({ ...ctx.sql.triggers.get, values: [args.event_trigger_name] });
  if (!found.rowCount) throw new ApiError('not-exists', `event trigger "${args.event_trigger_name}" does not exist`, OPERATION_PATH);
  try {
    const { deleted } = await cleanEventLogs({
      pool: ctx.pool,
      sql: ctx.sql.cleanups,
      spec: {
        triggerName: args.event_trigger_name,
        clearOlderThan: args.clear_older_than,
        batchSize: args.batch_size,
        timeoutSec: args.timeout,
        cleanInvocationLogs: args.clean_invocation_logs,
      },
    });
    return deleted;
  } catch (error) {
    if (error instanceof BatchTimedOut) throw new ApiError('busy', error.message, OPERATION_PATH);
    throw error;
  }
}

export const pauseEventTriggerCleanups = (ctx: OperationContext, tx: Tx, args: EventTriggerCleanupsArgs) =>
  setCleanupsPaused(ctx, tx, args, true);

export const resumeEventTriggerCleanups = (ctx: OperationContext, tx: Tx, args: EventTriggerCleanupsArgs) =>
  setCleanupsPaused(ctx, tx, args, false);

/**
 * Sets paused on the cleanup_config of the triggers the args name, in one transaction, as Hasura's
 * toggleEventTriggerCleanupAction does: a list of sources (or "*") covers every trigger of them that has
 * a cleanup_config; a trigger named in a qualifier must exist and have one. Errors in Hasura's words.
 */
async function setCleanupsPaused(ctx: OperationContext, tx: Tx, args: EventTriggerCleanupsArgs, paused: boolean) {
  const { client } = tx;
  const sql = ctx.sql.cleanups;
  await client.query({ ...ctx.sql.triggers.lockCatalog, values: [ctx.schema] });
  let names: string[] | null;
  if (!Array.isArray(args.event_triggers)) {
    const { sources } = args.event_triggers;
    if (sources !== '*') for (const source of sources) checkSource(ctx, source);
    // This daemon serves one source: every trigger is in it.
    names = null;
  } else {
    names = [];
    for (const qualifier of args.event_triggers) {
      checkSource(ctx, qualifier.source_name);
      names.push(...qualifier.event_triggers);
    }
    const { rows } = await client.query<{ name: string; has_config: boolean }>({ ...sql.cleanupConfigOf, values: [names] });
    const known = new Map(rows.map((r) => [r.name, r.has_config]));
    for (const name of names) {
      if (!known.has(name)) throw new ApiError('not-exists', `event trigger "${name}" does not exist`, OPERATION_PATH);
      if (!known.get(name)) throw new ApiError('not-exists', `cleanup config does not exist for ${name}`, OPERATION_PATH);
    }
  }
  const { rows } = await client.query<{ name: string }>({ ...sql.setPaused, values: [names, paused] });
  for (const { name } of rows) await announceChange(ctx, tx, name);
  return SUCCESS;
}

/** "default", or the daemon's SOURCE_NAME; Hasura's wording otherwise (toggleEventTriggerCleanupAction). */
function checkSource(ctx: OperationContext, source: string) {
  if (source !== 'default' && source !== ctx.sourceName) {
    throw new ApiError('not-exists', `source with name ${source} does not exists`, OPERATION_PATH);
  }
}
