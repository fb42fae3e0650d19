/**
 * The gauges that describe the database rather than this daemon: events waiting per trigger and how long
 * the oldest has been due, retries parked, circuit breakers, daemons alive. One statement per scrape
 * (flowStatements.gauges: a few index probes per trigger, counts cut off at COUNT_LIMIT), never anything
 * per event. Every daemon reports the same values: aggregate them with max, not sum.
 *
 * Scrapes that arrive while a statement is under way share it. If the database does not answer (within
 * STATEMENT_TIMEOUT_MS), pg_event_triggers_database_up is 0 and these gauges are left out of the scrape
 * rather than reported stale.
 */
import type pg from 'pg';
import type { Logger } from 'pino';
import { Gauge, type Registry } from 'prom-client';
import { flowStatements, type GaugeRow } from '../sql/flowStatements.js';

/** Events counted per trigger and kind at most: a larger backlog reads as this many. */
export const COUNT_LIMIT = 100_000;
/** A scrape's statement gives up after this long (Prometheus' default scrape timeout is 10 s). */
const STATEMENT_TIMEOUT_MS = 5000;

const CIRCUIT_STATES = ['closed', 'open', 'half_open'] as const;
const FROM_DATABASE = 'From the database, the same on every daemon (aggregate with max).';

export interface DatabaseGaugesOptions {
  registry: Registry;
  pool: pg.Pool;
  schema: string;
  sourceName: string;
  heartbeatTimeoutMs: number;
  log: Logger;
}

export class DatabaseGauges {
  private readonly sql;
  private readonly up: Gauge;
  private readonly daemons: Gauge;
  private readonly pending: Gauge<'trigger_name' | 'source_name'>;
  private readonly oldest: Gauge<'trigger_name' | 'source_name'>;
  private readonly parked: Gauge<'trigger_name' | 'source_name'>;
  private readonly circuit: Gauge<'trigger_name' | 'source_name' | 'state'>;
  private running: Promise<void> | undefined;
  private failing = false;

  constructor(private readonly options: DatabaseGaugesOptions) {
    this.sql = flowStatements(options.schema);
    const registers = [options.registry];
    // Any of them being collected runs the one statement for all (shared while under way).
    const collect = () => this.refresh();
    this.up = new Gauge({
      name: 'pg_event_triggers_database_up',
      help: "1 when this scrape's statement for the database gauges answered, else 0 (and those gauges are left out)",
      registers,
      collect,
    });
    this.daemons = new Gauge({
      name: 'pg_event_triggers_daemons_alive',
      help: `Daemons alive on this catalog (heartbeat fresh, session held). ${FROM_DATABASE}`,
      registers,
      collect,
    });
    const labelNames = ['trigger_name', 'source_name'] as const;
    this.pending = new Gauge({
      name: 'pg_event_triggers_pending_events',
      help: `Events due and held by no daemon: waiting in the database to be claimed (counted up to ${COUNT_LIMIT}). ${FROM_DATABASE}`,
      labelNames,
      registers,
      collect,
    });
    this.oldest = new Gauge({
      name: 'pg_event_triggers_oldest_pending_event_age_seconds',
      help: `How long the oldest pending event has been due (since its creation, or its retry time); 0 when none. ${FROM_DATABASE}`,
      labelNames,
      registers,
      collect,
    });
    this.parked = new Gauge({
      name: 'pg_event_triggers_parked_retry_events',
      help: `Events waiting in the database for a retry due later, held by no daemon (parked; counted up to ${COUNT_LIMIT}). Retries waited for in a daemon's memory are pg_event_triggers_retry_waiting_events. ${FROM_DATABASE}`,
      labelNames,
      registers,
      collect,
    });
    this.circuit = new Gauge({
      name: 'pg_event_triggers_circuit_state',
      help: `The circuit breaker of each trigger's endpoint: 1 for its state (closed, open, half_open: a probe is out), 0 for the others. ${FROM_DATABASE}`,
      labelNames: ['trigger_name', 'source_name', 'state'],
      registers,
      collect,
    });
  }

  /** Runs the statement and sets every gauge from it; scrapes that come meanwhile share the run. */
  private refresh(): Promise<void> {
    this.running ??= this.read()
      .then((rows) => this.publish(rows))
      .catch((error: unknown) => this.publishFailure(error))
      .finally(() => (this.running = undefined));
    return this.running;
  }

  private async read(): Promise<GaugeRow[]> {
    const client = await this.options.pool.connect();
    try {
      await client.query('begin');
      await client.query(`set local statement_timeout = ${STATEMENT_TIMEOUT_MS}`);
      const { rows } = await client.query<GaugeRow>({ ...this.sql.gauges, values: [COUNT_LIMIT, this.options.heartbeatTimeoutMs] });
      await client.query('commit');
      return rows;
    } catch (error) {
      await client.query('rollback').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  private publish(rows: GaugeRow[]): void {
    this.resetAll();
    if (this.failing) this.options.log.info('the database gauges of /v1/metrics answer again');
    this.failing = false;
    this.up.set(1);
    this.daemons.set(rows[0]?.daemons_alive ?? 0);
    const source = this.options.sourceName;
    for (const row of rows) {
      if (row.name === null) continue;
      const labels = { trigger_name: row.name, source_name: source };
      this.pending.set(labels, row.pending ?? 0);
      this.parked.set(labels, row.parked ?? 0);
      this.oldest.set(labels, Math.max(0, row.oldest_due_seconds ?? 0));
      for (const state of CIRCUIT_STATES) this.circuit.set({ ...labels, state }, row.circuit_state === state ? 1 : 0);
    }
  }

  private publishFailure(error: unknown): void {
    this.resetAll();
    this.up.set(0);
    if (!this.failing) this.options.log.warn({ err: error }, 'the database gauges of /v1/metrics could not be read');
    this.failing = true;
  }

  /** Triggers deleted since the last scrape, or a scrape that failed, leave no series behind. */
  private resetAll(): void {
    for (const gauge of [this.daemons, this.pending, this.oldest, this.parked, this.circuit]) gauge.reset();
  }
}
