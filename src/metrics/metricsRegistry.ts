/**
 * The daemon's Prometheus registry (prom-client): Node's default process metrics, Hasura's event-trigger
 * metrics (deliveryMetrics.ts), this daemon's gauges (daemonGauges.ts) and the database's
 * (databaseGauges.ts). A registry of its own per daemon, so daemons in one process (tests) never mix.
 * Served by GET /v1/metrics and /metrics (src/api/app.ts).
 */
import type pg from 'pg';
import type { Logger } from 'pino';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { DatabaseGauges } from './databaseGauges.js';
import { registerEngineGauges, registerPoolGauges, type EngineLoad } from './daemonGauges.js';
import { DeliveryMetrics } from './deliveryMetrics.js';

export interface MetricsRegistryOptions {
  pool: pg.Pool;
  poolSize: number;
  schema: string;
  sourceName: string;
  heartbeatTimeoutMs: number;
  log: Logger;
}

/** What the HTTP API serves. */
export interface MetricsSource {
  contentType: string;
  render(): Promise<string>;
}

export class MetricsRegistry implements MetricsSource {
  private readonly registry = new Registry();
  /** What the delivery engine updates as it works. */
  readonly delivery: DeliveryMetrics;

  constructor(private readonly options: MetricsRegistryOptions) {
    collectDefaultMetrics({ register: this.registry });
    this.delivery = new DeliveryMetrics(this.registry, options.sourceName);
    registerPoolGauges({ ...options, registry: this.registry });
    new DatabaseGauges({ ...options, registry: this.registry });
  }

  /** Reports the engine's load and the defined triggers at each scrape (once the engine exists). */
  watchEngine(load: () => EngineLoad, triggerNames: () => string[]): void {
    registerEngineGauges({ sourceName: this.options.sourceName, registry: this.registry, load, triggerNames });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }
}
