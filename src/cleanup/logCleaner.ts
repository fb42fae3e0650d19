/**
 * Deletes a trigger's settled events in batches, as Hasura's deleteEventTriggerLogs does: each batch in its
 * own short transaction, bounded by the cleanup's timeout, until a batch finds nothing left. Used by
 * cleanup_event_trigger_logs and by the scheduled runs.
 *
 * What it never touches, and why capture and delivery do not wait on it: it deletes only events that are
 * delivered, errored or archived and held by no daemon (pending, waiting and in-flight events are all
 * either unsettled or held), and it skips rows another transaction has locked. Capture only inserts, and
 * the fetch reads unsettled events through event_log_due, so neither meets its row locks.
 */
import type pg from 'pg';
import type { cleanupStatements } from '../sql/cleanupStatements.js';

/** One trigger's cleanup, in Hasura's terms (TriggerLogCleanupConfig). */
export interface CleanupSpec {
  triggerName: string;
  /** Hours: events created longer ago than this are deleted. */
  clearOlderThan: number;
  batchSize: number;
  /** Seconds one batch may take. */
  timeoutSec: number;
  cleanInvocationLogs: boolean;
}

/** Hasura's DeletedEventLogStats, under the names of its cleanup history's columns. */
export interface DeletedCounts {
  deleted_event_logs: number;
  deleted_event_invocation_logs: number;
}

export const noneDeleted = (): DeletedCounts => ({ deleted_event_logs: 0, deleted_event_invocation_logs: 0 });

export function addCounts(into: DeletedCounts, more: DeletedCounts): DeletedCounts {
  into.deleted_event_logs += more.deleted_event_logs;
  into.deleted_event_invocation_logs += more.deleted_event_invocation_logs;
  return into;
}

/** A batch ran past its timeout and was cancelled: the cleanup stops there, as Hasura's does. */
export class BatchTimedOut extends Error {
  override name = 'BatchTimedOut';
  constructor(
    readonly timeoutSec: number,
    /** What the batches before it deleted (committed). */
    readonly deleted: DeletedCounts,
  ) {
    super(
      `a batch took longer than its timeout (${timeoutSec} s) and was cancelled, after ${deleted.deleted_event_logs} event logs ` +
        `and ${deleted.deleted_event_invocation_logs} invocation logs were deleted: try a smaller batch_size or a longer timeout`,
    );
  }
}

/** Why a cleanup ended before it found nothing left to delete. */
export type StopReason = 'paused' | 'gone' | 'stopping' | 'lost';

export interface CleanOptions {
  pool: pg.Pool;
  sql: ReturnType<typeof cleanupStatements>;
  spec: CleanupSpec;
  /**
   * Asked before each batch: the spec to use now (the trigger's cleanup_config may have changed), or why
   * to stop. Absent: the first spec throughout.
   */
  beforeBatch?: () => CleanupSpec | StopReason;
  /**
   * Runs inside each batch's transaction, after its deletes (the scheduler counts them in its history
   * row there); false rolls the batch back and stops the cleanup ('lost').
   */
  inBatch?: (client: pg.PoolClient, deleted: DeletedCounts) => Promise<boolean>;
}

export interface CleanResult {
  deleted: DeletedCounts;
  /** Undefined when the cleanup ran until nothing was left to delete. */
  stopped: StopReason | undefined;
}

/** Deletes batch after batch until one deletes nothing; throws BatchTimedOut, or the database's error. */
export async function cleanEventLogs(options: CleanOptions): Promise<CleanResult> {
  const deleted = noneDeleted();
  for (;;) {
    const next = options.beforeBatch ? options.beforeBatch() : options.spec;
    if (typeof next === 'string') return { deleted, stopped: next };
    let batch: DeletedCounts | 'lost';
    try {
      batch = await deleteBatch(options, next);
    } catch (error) {
      // 57014: canceled by statement_timeout; 55P03: a lock not granted within lock_timeout (DDL on the
      // catalog's tables holds one). Both bounded by the cleanup's timeout.
      const code = (error as { code?: string }).code;
      if (code === '57014' || code === '55P03') throw new BatchTimedOut(next.timeoutSec, deleted);
      throw error;
    }
    if (batch === 'lost') return { deleted, stopped: 'lost' };
    addCounts(deleted, batch);
    if (batch.deleted_event_logs === 0) return { deleted, stopped: undefined };
  }
}

async function deleteBatch(options: CleanOptions, spec: CleanupSpec): Promise<DeletedCounts | 'lost'> {
  const { sql } = options;
  const client = await options.pool.connect();
  try {
    await client.query('begin');
    // The batch's deadline, for its statements and for any lock they would wait for.
    await client.query({ ...sql.limitBatch, values: [String(spec.timeoutSec * 1000)] });
    const { rows } = await client.query<DeletedCounts>({
      ...sql.deleteBatch,
      values: [spec.triggerName, spec.clearOlderThan, spec.batchSize, spec.cleanInvocationLogs],
    });
    const counts = rows[0]!;
    if (counts.deleted_event_logs > 0 && options.inBatch && !(await options.inBatch(client, counts))) {
      await client.query('rollback');
      return 'lost';
    }
    await client.query('commit');
    return counts;
  } catch (error) {
    await client.query('rollback').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
