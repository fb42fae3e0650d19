/**
 * The one group-commit batcher: items added while a write is under way gather for the next one, so a
 * batch grows with the load and an idle daemon writes at once. A write that fails (the database is down)
 * is tried again with the one backoff policy (backoff.ts), never dropped; what was not written stays
 * ahead of what came later. The recorder (outcomes of attempts) and the releaser (events handed back to
 * the database) are both built on it.
 */
import type { Logger } from 'pino';
import { backoffDelayMs, DATABASE_RETRY } from './backoff.js';

/** Thrown by a write that stored the start of its batch: only `remaining` is tried again. */
export class PartialWrite<T> extends Error {
  constructor(
    readonly remaining: T[],
    override readonly cause: unknown,
  ) {
    super('part of a batch was not written');
  }
}

export interface BatcherOptions<T> {
  /** Writes one batch; throws to have it (or a PartialWrite's remainder) tried again after a pause. */
  write(batch: T[]): Promise<void>;
  /** Most items per write. */
  maxBatch: number;
  log: Logger;
  /** What failed, for the log: "could not record attempts". */
  failureMessage: string;
}

export class Batcher<T> {
  private queue: T[] = [];
  private flushing: Promise<void> | undefined;
  private stopped = false;
  private failures = 0;

  constructor(private readonly options: BatcherOptions<T>) {}

  get size(): number {
    return this.queue.length;
  }

  /** Queues an item for the next write; false once stopped (the item is not queued). */
  add(item: T): boolean {
    if (this.stopped) return false;
    this.queue.push(item);
    this.flushing ??= this.flush().finally(() => (this.flushing = undefined));
    return true;
  }

  /**
   * Waits (up to timeoutMs) for what is queued to be written, then refuses further items. Returns what
   * could not be written in time.
   */
  async stop(timeoutMs: number): Promise<T[]> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    await Promise.race([this.flushing ?? Promise.resolve(), deadline]);
    clearTimeout(timer);
    this.stopped = true;
    return this.queue.splice(0);
  }

  private async flush(): Promise<void> {
    // Yield once, so that items added in the same tick share the write.
    await new Promise((resolve) => setImmediate(resolve));
    while (this.queue.length > 0 && !this.stopped) {
      const batch = this.queue.splice(0, this.options.maxBatch);
      try {
        await this.options.write(batch);
        if (this.failures > 0) this.options.log.info(`${this.options.failureMessage}: writing again`);
        this.failures = 0;
      } catch (error) {
        const unwritten = error instanceof PartialWrite ? (error.remaining as T[]) : batch;
        this.queue.unshift(...unwritten);
        this.failures += 1;
        const delay = backoffDelayMs(DATABASE_RETRY, this.failures);
        if (this.failures === 1 || this.failures % 20 === 0) {
          const err = error instanceof PartialWrite ? error.cause : error;
          this.options.log.warn(
            { err, pending: this.queue.length, retryInMs: Math.round(delay) },
            `${this.options.failureMessage}; retrying`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }
}
