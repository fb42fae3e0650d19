/**
 * Wiring only: config → database (given, or embedded) → pool → supervisor (migrate, presence, LISTEN,
 * delivery engine, log cleanups) → HTTP API. No SQL and no request handling live here.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { createActor, fromCallback, fromPromise, waitFor, type InspectionEvent, type Observer } from 'xstate';
import { supervisorMachine } from '../machines/supervisor.machine.js';
import { buildApp, type Health } from './api/app.js';
import { createOperationContext } from './api/operations/context.js';
import type pg from 'pg';
import { notifyChannel } from './catalog/channel.js';
import { findInconsistencies, type TriggerTableState } from './catalog/consistency.js';
import { TriggerRegistry } from './catalog/triggerRegistry.js';
import { CleanupScheduler } from './cleanup/cleanupScheduler.js';
import type { Config } from './config.js';
import { startEmbeddedPostgres, type EmbeddedServer } from './db/embedded.js';
import { migrate } from './db/migrate.js';
import { createPool } from './db/pool.js';
import { waitForDatabase } from './db/waitForDatabase.js';
import { DeliveryEngine } from './delivery/engine.js';
import { startNotifier, type Notifier } from './delivery/notifier.js';
import { Presence } from './delivery/presence.js';
import { WakeLock } from './delivery/wakeLock.js';
import { WebhookClient } from './delivery/webhookClient.js';
import { MetricsRegistry } from './metrics/metricsRegistry.js';
import { triggerStatements } from './sql/triggerStatements.js';
import type { Inspector } from './inspect/inspector.js';

export interface DaemonDeps {
  env: NodeJS.ProcessEnv;
  log: Logger;
  version: string;
  /** Aborted when the process is asked to stop (SIGTERM, SIGINT) before the daemon is running. */
  signal?: AbortSignal;
}

export interface DaemonHandle {
  /** Base URL of the HTTP API. */
  url: string;
  databaseUrl: string;
  instanceId: string;
  engine: DeliveryEngine;
  inspector: Inspector | undefined;
  /** Drains and stops everything; resolves when the process may exit. */
  stop(): Promise<void>;
}

/** Raised when the daemon cannot start; its message is the one line a user needs. */
export class StartupError extends Error {
  override name = 'StartupError';
}

/** Raised when deps.signal stopped the start: nothing was held yet, so there was nothing to drain. */
export class StartupAborted extends Error {
  override name = 'StartupAborted';
}

export async function startDaemon(config: Config, deps: DaemonDeps): Promise<DaemonHandle> {
  const { env, log } = deps;
  let embedded: EmbeddedServer | undefined;
  let databaseUrl = config.databaseUrl;
  if (!databaseUrl) {
    log.info({ dataDir: config.dataDir, port: config.embeddedPort }, 'no DATABASE_URL: starting the embedded PostgreSQL');
    embedded = await startEmbeddedPostgres({
      dataDir: config.dataDir,
      port: config.embeddedPort,
      onLog: (line) => log.debug({ postgres: line.trim() }, 'embedded PostgreSQL'),
    });
    databaseUrl = embedded.url;
    // The URL holds the superuser's password: the log (often collected, and kept) gets where to find it;
    // the CLI shows the URL itself on the operator's terminal.
    const { passwordFile } = embedded;
    if (embedded.replacedLegacyPassword) {
      log.warn(
        { passwordFile },
        `the embedded PostgreSQL's superuser had the fixed password "postgres" of earlier versions: replaced it with a random one, kept in ${passwordFile}; update what connected with the old one`,
      );
    }
    log.info(
      { host: '127.0.0.1', port: config.embeddedPort, user: 'postgres', passwordFile },
      `embedded PostgreSQL ready on 127.0.0.1:${config.embeddedPort}: user postgres, password in ${passwordFile}`,
    );
  }

  const instanceId = randomUUID();
  const pool = createPool({ connectionString: databaseUrl, max: config.dbPoolSize, applicationName: 'pg-event-triggers', log });
  const inspector =
    config.inspect !== undefined ? await startInspectorLazily({ host: config.inspectHost, port: config.inspect, log }) : undefined;
  const inspect: Observer<InspectionEvent> | undefined = inspector?.observer;
  const registry = new TriggerRegistry(pool, config.schema, env, log);
  const metrics = new MetricsRegistry({
    pool,
    poolSize: config.dbPoolSize,
    schema: config.schema,
    sourceName: config.sourceName,
    heartbeatTimeoutMs: config.heartbeatTimeoutMs,
    log,
  });
  // The scheduler bounds requests in flight (at most twice the pool, see scheduler.ts); a per-origin
  // bound any lower would queue one trigger's requests behind another's hung ones on a shared host.
  const webhook = new WebhookClient({
    connections: 2 * config.httpPoolSize,
    responseBodyLimit: config.responseBodyLimit,
    invocationLogs: config.invocationLogs,
  });
  const presence = new Presence({
    connectionString: databaseUrl,
    schema: config.schema,
    instanceId,
    heartbeatTimeoutMs: config.heartbeatTimeoutMs,
    log,
  });
  // Declared before the engine it wakes; `engine` is assigned by the time a connection can be lost.
  const wakeLock: WakeLock = new WakeLock({
    connectionString: databaseUrl,
    schema: config.schema,
    log,
    onLost: () => engine.nudge(),
  });
  const engine = new DeliveryEngine({
    pool,
    schema: config.schema,
    instanceId,
    registry,
    webhook,
    httpPoolSize: config.httpPoolSize,
    fetchBatchSize: config.fetchBatchSize,
    pollIntervalMs: config.pollIntervalMs,
    gatherMs: config.gatherMs,
    wakeLock,
    heartbeatTimeoutMs: config.heartbeatTimeoutMs,
    takeoverIntervalMs: presence.intervalMs,
    maxWaitingEvents: config.maxWaitingEvents,
    circuits: { threshold: config.circuitThreshold, cooldownMs: config.circuitCooldownMs, maxCooldownMs: config.circuitMaxCooldownMs },
    metrics: metrics.delivery,
    inspect,
    log,
  });
  metrics.watchEngine(
    () => engine.load(),
    () => registry.all().map((t) => t.name),
  );
  const cleanups = new CleanupScheduler({
    pool,
    schema: config.schema,
    instanceId,
    definitions: registry,
    defaultConfig: config.defaultCleanupConfig,
    heartbeatTimeoutMs: config.heartbeatTimeoutMs,
    log,
  });
  let notifier: Notifier | undefined;

  const supervisor = createActor(
    supervisorMachine.provide({
      actions: {
        reportRestoreFailure: (_, params: { error: unknown }) =>
          log.warn({ err: params.error }, 'restoring events failed; takeover will try again while running'),
      },
      actors: {
        boot: fromPromise(async ({ signal }) => {
          await waitForDatabase(pool, log, deps.signal ? AbortSignal.any([signal, deps.signal]) : signal);
          await migrate(pool, config.schema, log);
          await registry.reload();
          const problems = registry.all().filter((t) => t.problem);
          if (problems.length) throw new StartupError(problems.map((t) => t.problem).join('; '));
          await warnAboutInconsistentTriggers(pool, config.schema, log);
          await presence.start();
          notifier = await startNotifier({
            connectionString: databaseUrl,
            channel: notifyChannel(config.schema),
            log,
            onWake: () => engine.nudge(),
            onCommand: (command) => engine.handleCommand(command),
            onReconnected: () => void engine.resync().catch((error) => log.warn({ err: error }, 'resync failed')),
          });
        }),
        restore: fromPromise(() => engine.restore()),
        deliver: fromCallback(() => {
          engine.start();
          return () => undefined;
        }),
        cleanLogs: fromCallback(() => {
          cleanups.start();
          return () => void cleanups.stop();
        }),
        drain: fromPromise(async () => {
          // A cleanup stops after its batch under way and is handed back, while deliveries drain.
          const cleanupsStopped = cleanups.stop();
          await engine.drain(config.drainTimeoutMs);
          await cleanupsStopped;
          await wakeLock.close();
          await notifier?.close();
          await presence.stop();
        }),
      },
    }),
    { id: 'supervisor', ...(inspect ? { inspect } : {}) },
  );
  supervisor.subscribe({ error: (error) => log.error({ err: error }, 'supervisor failed') });
  supervisor.start();

  const closeResources = async () => {
    await webhook.close().catch(() => undefined);
    await pool.end().catch(() => undefined);
    await inspector?.close();
    await embedded?.stop();
  };

  const booted = await waitFor(supervisor, (s) => s.matches('running') || s.status === 'done', { timeout: Infinity });
  if (booted.matches('failed')) {
    await closeResources();
    if (deps.signal?.aborted) throw new StartupAborted('stopped by a signal before it was running');
    throw new StartupError(booted.context.error ?? 'the daemon failed to start');
  }

  const ctx = createOperationContext({
    pool,
    schema: config.schema,
    sourceName: config.sourceName,
    heartbeatTimeoutMs: config.heartbeatTimeoutMs,
    lockTimeoutMs: config.lockTimeoutMs,
    answerLimit: config.answerLimit,
    env,
    stringifyNumericTypes: config.stringifyNumericTypes,
    engine,
    log,
  });
  const health = async (): Promise<Health> => {
    if (!supervisor.getSnapshot().matches('running')) return { ok: false, reason: 'not running' };
    try {
      await withTimeout(pool.query('select 1'), 2000);
    } catch {
      return { ok: false, reason: 'the database does not answer' };
    }
    return { ok: true };
  };
  const app = await buildApp({
    ctx,
    adminSecret: config.adminSecret,
    metricsSecret: config.metricsSecret,
    metrics,
    host: config.host,
    bodyLimit: config.bodyLimit,
    version: deps.version,
    health,
    log,
  });
  let url: string;
  try {
    url = await app.listen({ host: config.host, port: config.port });
  } catch (error) {
    supervisor.send({ type: 'SHUTDOWN' });
    await waitFor(supervisor, (s) => s.status === 'done', { timeout: Infinity });
    await closeResources();
    throw new StartupError(`cannot listen on ${config.host}:${config.port}: ${(error as Error).message}`);
  }
  log.info({ url, instanceId, schema: config.schema }, 'pg-event-triggers is running');
  log.info({ url: `${url}/console` }, `web console: ${url}/console`);
  if (!config.adminSecret) log.warn(`no ADMIN_SECRET: the API accepts every request, so it listens on ${config.host} only`);

  let stopping: Promise<void> | undefined;
  return {
    url,
    databaseUrl,
    instanceId,
    engine,
    inspector,
    stop() {
      stopping ??= (async () => {
        await app.close();
        supervisor.send({ type: 'SHUTDOWN' });
        await waitFor(supervisor, (s) => s.status === 'done', { timeout: Infinity });
        await closeResources();
        // What this life of the daemon did: the benchmark reads it, operators can too.
        log.info({ stats: engine.stats() }, 'pg-event-triggers stopped');
      })();
      return stopping;
    },
  };
}

/** Triggers left behind by DDL (a dropped table, renamed columns) still boot, with a warning each. */
async function warnAboutInconsistentTriggers(pool: pg.Pool, schema: string, log: Logger) {
  const { rows } = await pool.query<TriggerTableState>({ ...triggerStatements(schema).tableState, values: [null] });
  for (const row of rows) {
    const found = findInconsistencies(row);
    if (found) log.warn({ trigger: row.name }, `inconsistent event trigger: ${found.reason}`);
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('timeout')), ms);
    promise.then(
      (v) => (clearTimeout(timer), resolve(v)),
      (e: unknown) => (clearTimeout(timer), reject(e instanceof Error ? e : new Error(String(e)))),
    );
  });
}

/** The inspector's modules (its WebSocket client and relay) are loaded only by a daemon that inspects. */
async function startInspectorLazily(options: Parameters<typeof import('./inspect/inspector.js').startInspector>[0]): Promise<Inspector> {
  const { startInspector } = await import('./inspect/inspector.js');
  return startInspector(options);
}
