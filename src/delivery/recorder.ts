/**
 * Writes the outcome of attempts in batches (the group-commit batcher, lib/batcher.ts). A failed write
 * (the database is down) is tried again, never dropped: the actors wait in their `recording` state,
 * holding their slots, until their outcome is in the database. A write that fails on its data is split,
 * so one bad record cannot stall the rest.
 */
import type pg from 'pg';
import type { Logger } from 'pino';
import type { RecordReport, Verdict } from '../../machines/event.machine.js';
import type { deliveryStatements } from '../sql/deliveryStatements.js';
import type { InvocationLog } from './webhookClient.js';
import { Batcher, PartialWrite } from '../lib/batcher.js';

export interface AttemptRecord {
  eventId: string;
  triggerName: string;
  tries: number;
  verdict: Verdict;
  retryDelayMs: number;
  /** Park the retry in the database (release the event) instead of waiting for it in memory. */
  park: boolean;
  /** event_log.redeliveries when the attempt began: the verdict applies only if it is unchanged. */
  generation: number;
  /** The invocation log row; undefined when invocation logs are off. */
  log: InvocationLog | undefined;
}

/** What became of a record: RecordReport without `parked`, which only the caller knows it asked for. */
export type RecordResult = { outcome: 'applied' } | Exclude<RecordReport, { outcome: 'applied' }>;

interface Pending {
  record: AttemptRecord;
  resolve(result: RecordResult): void;
  reject(error: Error): void;
}

export interface RecorderOptions {
  pool: pg.Pool;
  sql: ReturnType<typeof deliveryStatements>;
  instanceId: string;
  log: Logger;
  maxBatch?: number;
}

export class Recorder {
  private readonly batcher: Batcher<Pending>;
  /** Round trips made and attempts written, for the benchmark's accounting. */
  readonly stats = { writes: 0, attempts: 0 };

  constructor(private readonly options: RecorderOptions) {
    this.batcher = new Batcher<Pending>({
      write: (batch) => this.writeBatch(batch),
      maxBatch: options.maxBatch ?? 1000,
      log: options.log,
      failureMessage: 'could not record attempts',
    });
  }

  /**
   * Resolves once written: 'applied'; 'superseded' when a redelivery came since the attempt began (the
   * event was reset instead); 'lockLost' when the event's lock had moved on; 'notWritten' when not even
   * the verdict alone could be stored. Rejects once the recorder is stopped.
   */
  record(record: AttemptRecord): Promise<RecordResult> {
    return new Promise((resolve, reject) => {
      if (!this.batcher.add({ record, resolve, reject })) reject(new Error('recorder stopped'));
    });
  }

  /** Waits for what is queued to be written (up to timeoutMs), then refuses further records. */
  async stop(timeoutMs: number): Promise<void> {
    for (const p of await this.batcher.stop(timeoutMs)) p.reject(new Error('recorder stopped'));
  }

  /**
   * Writes a batch in one statement. When the statement fails on the data (an event deleted by hand
   * meanwhile, so its invocation log has nothing to refer to), waiting would not fix it: the batch is
   * written one record at a time instead, so one bad record cannot hold up the others. Throws, with what
   * was not written re-queued, only when the database itself fails.
   */
  private async writeBatch(batch: Pending[]): Promise<void> {
    try {
      const written = await this.write(batch.map((p) => p.record));
      for (const p of batch) p.resolve(written.get(p.record.eventId) ?? { outcome: 'lockLost' });
      return;
    } catch (error) {
      if (!isDataError(error)) throw error;
    }
    for (let i = 0; i < batch.length; i++) {
      const p = batch[i]!;
      try {
        p.resolve(await this.writeAlone(p.record));
      } catch (error) {
        throw new PartialWrite(batch.slice(i), error);
      }
    }
  }

  /**
   * One record; if its data is what fails, without its invocation log; if even that fails, not at all
   * ('notWritten': the actor hands the event back, and it is delivered again later). Throws on database
   * failures.
   */
  private async writeAlone(record: AttemptRecord): Promise<RecordResult> {
    const tries = record.log ? [record, { ...record, log: undefined }] : [record];
    for (const attempt of tries) {
      try {
        return (await this.write([attempt])).get(record.eventId) ?? { outcome: 'lockLost' };
      } catch (error) {
        if (!isDataError(error)) throw error;
        this.options.log.error(
          { err: error, eventId: record.eventId, trigger: record.triggerName },
          attempt.log
            ? 'could not record the invocation log of an attempt; recording its outcome without it'
            : 'could not record the outcome of an attempt; the event will be delivered again',
        );
      }
    }
    return { outcome: 'notWritten' };
  }

  /** The events written, by id; an event missing from the map was not this instance's any more. */
  private async write(records: AttemptRecord[]): Promise<Map<string, RecordResult>> {
    let outcomes = '';
    let logs = '';
    for (const r of records) {
      outcomes +=
        `${outcomes ? ',' : ''}{"id":"${r.eventId}","tries":${r.tries},"verdict":"${r.verdict}",` +
        `"retry_delay_ms":${Math.round(r.retryDelayMs)},"park":${r.park},"generation":${r.generation}}`;
      if (r.log) {
        logs +=
          `${logs ? ',' : ''}{"event_id":"${r.eventId}","trigger_name":${JSON.stringify(r.triggerName)},` +
          `"status":${r.log.status ?? 'null'},"request":${r.log.request},"response":${r.log.response},` +
          `"duration_ms":${r.log.durationMs}}`;
      }
    }
    const { rows } = await this.options.pool.query<{ id: string; generation: number; applied: boolean }>({
      ...this.options.sql.recordAttempts,
      values: [`[${outcomes}]`, this.options.instanceId, `[${logs}]`],
    });
    this.stats.writes += 1;
    this.stats.attempts += records.length;
    const written = new Map<string, RecordResult>();
    for (const r of rows) {
      written.set(r.id, r.applied ? { outcome: 'applied' } : { outcome: 'superseded', generation: r.generation });
    }
    return written;
  }
}

/** SQLSTATE classes 22 (data exception) and 23 (integrity constraint violation): the records are at fault. */
function isDataError(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && (code.startsWith('22') || code.startsWith('23'));
}
