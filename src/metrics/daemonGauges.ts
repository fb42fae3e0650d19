/**
 * The gauges that describe this daemon, read when Prometheus scrapes (nothing is kept up to date on the
 * delivery path for them): HTTP workers busy (Hasura's), requests in flight and retries waited for in
 * memory per trigger, and the database pool. Per daemon: Prometheus sums the daemons.
 */
import type pg from 'pg';
import { Gauge, type Registry } from 'prom-client';

/** What the gauges read of the delivery engine. */
export interface EngineLoad {
  /** Requests to webhooks under way (HTTP slots taken). */
  inFlight: number;
  /** Requests under way per trigger (triggers with none may be left out). */
  inFlightByTrigger: Array<[triggerName: string, count: number]>;
  /** Events waiting for a retry in this daemon's memory, per trigger (the same). */
  waitingByTrigger: Array<[triggerName: string, count: number]>;
}

export interface EngineGaugesOptions {
  registry: Registry;
  sourceName: string;
  load(): EngineLoad;
  /** The triggers defined now: each is reported, with 0 when it has nothing under way. */
  triggerNames(): string[];
}

export function registerEngineGauges(options: EngineGaugesOptions): void {
  const registers = [options.registry];
  const source = options.sourceName;

  new Gauge({
    name: 'hasura_event_trigger_http_workers',
    help: 'Current number of active event trigger HTTP workers (requests to webhooks under way on this daemon)',
    registers,
    collect() {
      this.set(options.load().inFlight);
    },
  });
  const perTrigger = (name: string, help: string, pick: (load: EngineLoad) => Array<[string, number]>) =>
    new Gauge({
      name,
      help,
      labelNames: ['trigger_name', 'source_name'],
      registers,
      collect() {
        this.reset();
        for (const triggerName of options.triggerNames()) this.set({ trigger_name: triggerName, source_name: source }, 0);
        for (const [triggerName, count] of pick(options.load())) this.set({ trigger_name: triggerName, source_name: source }, count);
      },
    });
  perTrigger(
    'pg_event_triggers_requests_in_flight',
    "Requests to the trigger's webhook under way on this daemon",
    (load) => load.inFlightByTrigger,
  );
  perTrigger(
    'pg_event_triggers_retry_waiting_events',
    'Events of the trigger this daemon holds in memory while they wait for a retry (parked ones are in pg_event_triggers_parked_retry_events)',
    (load) => load.waitingByTrigger,
  );
}

/**
 * The database pool's connections. Registered before the database's gauges, whose statement takes a
 * connection of the same pool: read first, the scrape does not see itself waiting for one.
 */
export function registerPoolGauges(options: { registry: Registry; pool: pg.Pool; poolSize: number }): void {
  const registers = [options.registry];
  const { pool } = options;
  new Gauge({
    name: 'pg_event_triggers_db_pool_connections',
    help: "Connections of this daemon's database pool, by state (busy: running a statement; idle: open, unused)",
    labelNames: ['state'],
    registers,
    collect() {
      this.set({ state: 'busy' }, pool.totalCount - pool.idleCount);
      this.set({ state: 'idle' }, pool.idleCount);
    },
  });
  new Gauge({
    name: 'pg_event_triggers_db_pool_waiting',
    help: 'Queries of this daemon waiting for a connection of its pool (all DB_POOL_SIZE busy)',
    registers,
    collect() {
      this.set(pool.waitingCount);
    },
  });
  new Gauge({
    name: 'pg_event_triggers_db_pool_max',
    help: "DB_POOL_SIZE: the most connections this daemon's pool opens (it also holds 3 of its own: LISTEN, presence, wake lock)",
    registers,
  }).set(options.poolSize);
}
