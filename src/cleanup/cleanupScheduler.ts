/**
 * Automatic cleanups, a daemon component: every daemon schedules and claims runs, the database decides
 * which daemon runs each one.
 *
 * Every tick (TICK_MS), a daemon
 * 1. schedules the next occurrence of each cleanup_config that is not paused (and of DEFAULT_CLEANUP_CONFIG):
 *    every daemon inserts the same rows, the unique index keeps one each;
 * 2. claims the runs that are due (claimDue: SKIP LOCKED, so exactly one daemon gets each; the earlier of
 *    a trigger's due runs are marked dead, so runs missed while every daemon was down collapse into one;
 *    runs of daemons that went away are taken over);
 * 3. runs what it claimed, one after the other: batches in their own transactions (logCleaner.ts), each
 *    counted in the run's row as it commits. The trigger's cleanup_config is read again before each
 *    batch: paused or removed meanwhile, the run stops there.
 *
 * Stopping (drain) ends the run under way after its current batch and hands it back (scheduled again),
 * for whichever daemon claims next.
 */
import type pg from 'pg';
import type { Logger } from 'pino';
import type { CleanupConfig, TriggerDefinition } from '../catalog/definition.js';
import { backoffDelayMs, DATABASE_RETRY } from '../lib/backoff.js';
import { cleanupStatements } from '../sql/cleanupStatements.js';
import { addCounts, BatchTimedOut, cleanEventLogs, noneDeleted, type CleanupSpec, type StopReason } from './logCleaner.js';
import { nextOccurrence } from './schedule.js';

/** How often a daemon schedules and claims: runs start at most this long after they fall due. */
export const TICK_MS = 10_000;
/** Finished runs are kept in event_log_cleanups this many days. */
export const HISTORY_DAYS = 30;

/** Where the scheduler reads trigger definitions: the registry, reloaded whenever one changes. */
export interface DefinitionSource {
  all(): Array<{ name: string; definition: TriggerDefinition }>;
  get(name: string): { definition: TriggerDefinition } | undefined;
}

export interface CleanupSchedulerOptions {
  pool: pg.Pool;
  schema: string;
  instanceId: string;
  definitions: DefinitionSource;
  /** DEFAULT_CLEANUP_CONFIG: for the event logs of triggers without cleanup_config; undefined: none. */
  defaultConfig: CleanupConfig | undefined;
  heartbeatTimeoutMs: number;
  tickMs?: number;
  log: Logger;
}

/** A run as claimDue returns it. */
interface ClaimedRun {
  id: string;
  /** Null: the daemon-wide default. */
  trigger_name: string | null;
  scheduled_at: Date;
}

type FinalStatus = 'completed' | 'paused' | 'dead' | 'failed';

/** The loop's modes, changed only by setMode: idle between ticks, ticking, stopping, stopped. */
type Mode = 'idle' | 'ticking' | 'stopping' | 'stopped';

export class CleanupScheduler {
  private readonly sql;
  private mode: Mode = 'idle';
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private failures = 0;
  /** Triggers whose stored schedule does not parse (edited by hand), each reported once. */
  private readonly unparsable = new Set<string>();

  constructor(private readonly options: CleanupSchedulerOptions) {
    this.sql = cleanupStatements(options.schema);
  }

  start(): void {
    if (this.loop || this.stopping) return;
    this.loop = this.run();
  }

  /** Stops after the batch under way (its run handed back); resolves once nothing runs. */
  async stop(): Promise<void> {
    if (!this.loop) return this.setMode('stopped');
    if (this.mode !== 'stopped') this.setMode('stopping');
    this.wake?.();
    await this.loop;
  }

  private setMode(mode: Mode): void {
    this.mode = mode;
  }

  private get stopping(): boolean {
    return this.mode === 'stopping' || this.mode === 'stopped';
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      let delay = this.options.tickMs ?? TICK_MS;
      this.setMode('ticking');
      try {
        await this.tick();
        this.failures = 0;
      } catch (error) {
        this.failures += 1;
        delay = Math.max(delay, backoffDelayMs(DATABASE_RETRY, this.failures));
        if (this.failures === 1 || this.failures % 20 === 0) this.options.log.warn({ err: error }, 'log cleanup tick failed; retrying');
      }
      if (this.stopping) break;
      this.setMode('idle');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        this.wake = () => (clearTimeout(timer), resolve());
      });
      this.wake = undefined;
    }
    this.setMode('stopped');
  }

  /** One pass: schedule, claim, run. Public so that tests can drive it without waiting for a tick. */
  async tick(): Promise<void> {
    await this.scheduleNext(new Date());
    const { rows } = await this.options.pool.query<ClaimedRun>({
      ...this.sql.claimDue,
      values: [this.options.instanceId, this.options.heartbeatTimeoutMs, this.activeDefault() !== undefined],
    });
    for (const run of rows) {
      if (this.stopping) {
        await this.options.pool.query({ ...this.sql.handBack, values: [run.id, this.options.instanceId] });
        continue;
      }
      await this.execute(run);
    }
  }

  /** The next occurrence of each active schedule, inserted once across every daemon. */
  private async scheduleNext(now: Date): Promise<void> {
    const names: Array<string | null> = [];
    const times: Date[] = [];
    for (const { name, definition } of this.options.definitions.all()) {
      const config = definition.cleanup_config;
      if (!config || config.paused) continue;
      let next: Date;
      try {
        next = nextOccurrence(config.schedule, now);
      } catch (error) {
        // create_event_trigger validates schedules; only a definition edited by hand gets here, and it
        // must not stop every other trigger's cleanups.
        if (!this.unparsable.has(name)) this.options.log.warn({ trigger: name, err: error }, 'cleanup_config.schedule does not parse');
        this.unparsable.add(name);
        continue;
      }
      names.push(name);
      times.push(next);
    }
    const fallback = this.activeDefault();
    if (fallback) {
      names.push(null);
      times.push(nextOccurrence(fallback.schedule, now));
    }
    if (names.length) await this.options.pool.query({ ...this.sql.schedule, values: [names, times] });
  }

  private activeDefault(): CleanupConfig | undefined {
    const config = this.options.defaultConfig;
    return config && !config.paused ? config : undefined;
  }

  private async execute(run: ClaimedRun): Promise<void> {
    const { log, instanceId, pool } = this.options;
    const who = run.trigger_name === null ? { default: true } : { trigger: run.trigger_name };
    const finish = (status: FinalStatus, error: string | null = null) =>
      pool.query({ ...this.sql.finish, values: [run.id, instanceId, status, error] });
    try {
      const outcome = run.trigger_name === null ? await this.cleanDefault(run) : await this.cleanTrigger(run, run.trigger_name);
      if (outcome.stopped === 'stopping') {
        await pool.query({ ...this.sql.handBack, values: [run.id, instanceId] });
        log.info({ ...who, ...outcome.deleted }, 'log cleanup handed back on drain: another daemon continues it');
        return;
      }
      if (outcome.stopped === 'lost') {
        log.warn({ ...who }, 'log cleanup taken over by another daemon (this one was too slow to answer): stopped here');
        return;
      }
      const status: FinalStatus = outcome.stopped === 'paused' ? 'paused' : outcome.stopped === 'gone' ? 'dead' : 'completed';
      await finish(status, outcome.stopped === 'gone' ? outcomeGoneReason(run) : null);
      await pool.query({ ...this.sql.pruneHistory, values: [run.trigger_name, HISTORY_DAYS] });
      log.info({ ...who, scheduledAt: run.scheduled_at, status, ...outcome.deleted }, 'log cleanup finished');
    } catch (error) {
      if (error instanceof BatchTimedOut) {
        await finish('failed', error.message);
        log.warn({ ...who, scheduledAt: run.scheduled_at }, `log cleanup failed: ${error.message}`);
        return;
      }
      // The database failed: the run stays this daemon's ('running'), and its next tick claims it again.
      throw error;
    }
  }

  /** One trigger's run, with its cleanup_config as it is before each batch. */
  private async cleanTrigger(run: ClaimedRun, name: string) {
    const current = (): CleanupSpec | StopReason => {
      if (this.stopping) return 'stopping';
      const config = this.options.definitions.get(name)?.definition.cleanup_config;
      if (!config) return 'gone';
      if (config.paused) return 'paused';
      return specOf(name, config);
    };
    const first = current();
    if (typeof first === 'string') return { deleted: noneDeleted(), stopped: first };
    return cleanEventLogs({ pool: this.options.pool, sql: this.sql, spec: first, beforeBatch: current, inBatch: this.counter(run) });
  }

  /** The default's run: every trigger name of the event log without a cleanup_config, one after the other. */
  private async cleanDefault(run: ClaimedRun) {
    const config = this.activeDefault();
    const deleted = noneDeleted();
    if (!config) return { deleted, stopped: 'gone' as const };
    const { rows } = await this.options.pool.query<{ name: string }>(this.sql.namesWithoutConfig);
    for (const { name } of rows) {
      // A trigger given a cleanup_config meanwhile is its own run's.
      const current = (): CleanupSpec | StopReason =>
        this.stopping ? 'stopping' : this.options.definitions.get(name)?.definition.cleanup_config ? 'gone' : specOf(name, config);
      const outcome = await cleanEventLogs({
        pool: this.options.pool,
        sql: this.sql,
        spec: specOf(name, config),
        beforeBatch: current,
        inBatch: this.counter(run),
      });
      addCounts(deleted, outcome.deleted);
      if (outcome.stopped === 'stopping' || outcome.stopped === 'lost') return { deleted, stopped: outcome.stopped };
    }
    return { deleted, stopped: undefined };
  }

  /** Counts each batch in the run's row, in the batch's transaction; false once the run is not ours. */
  private counter(run: ClaimedRun) {
    return async (client: pg.PoolClient, batch: { deleted_event_logs: number; deleted_event_invocation_logs: number }) => {
      const { rowCount } = await client.query({
        ...this.sql.addProgress,
        values: [run.id, this.options.instanceId, batch.deleted_event_logs, batch.deleted_event_invocation_logs],
      });
      return rowCount === 1;
    };
  }
}

function specOf(triggerName: string, config: CleanupConfig): CleanupSpec {
  return {
    triggerName,
    clearOlderThan: config.clear_older_than,
    batchSize: config.batch_size,
    timeoutSec: config.timeout,
    cleanInvocationLogs: config.clean_invocation_logs,
  };
}

function outcomeGoneReason(run: ClaimedRun): string {
  return run.trigger_name === null
    ? 'DEFAULT_CLEANUP_CONFIG is no longer set'
    : `event trigger "${run.trigger_name}" has been deleted, or no longer has a cleanup_config`;
}
