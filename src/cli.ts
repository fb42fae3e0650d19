#!/usr/bin/env node
/**
 * pg-event-triggers <command> [options]. Invalid settings print one line and exit 2; a start that fails
 * prints one line and exits 1; SIGTERM and SIGINT drain gracefully (a second signal exits at once).
 */
import path from 'node:path';
import type { Logger } from 'pino';
import { ConfigError, helpText, parseCommandLine } from './config.js';
import { startDaemon, StartupAborted, StartupError, type DaemonHandle } from './daemon.js';
import { embeddedDatabaseNotice, PASSWORD_FILE } from './db/embedded.js';
import { applyMetadata } from './import/applyMetadata.js';
import { migrate } from './db/migrate.js';
import { createPool } from './db/pool.js';
import { waitForDatabase } from './db/waitForDatabase.js';
import { applyHeapGrowth, type HeapGrowth } from './lib/heapGrowth.js';
import { createLogger } from './log.js';
import { VERSION } from './version.js';

/** Where a daemon listening on every interface is reached from this machine. */
const LOOPBACK_FOR_ANY = new Set(['0.0.0.0', '::']);

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseCommandLine(argv);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`pg-event-triggers: invalid configuration: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  if (parsed.help) return (void process.stdout.write(`${helpText()}\n`), 0);
  if (parsed.version) return (void process.stdout.write(`${VERSION}\n`), 0);
  const { config, command } = parsed;
  const log = createLogger(config.logLevel, config.logFormat);

  switch (command) {
    case 'start': {
      // Signals are handled from the first moment: one that arrives while the daemon still starts (e.g.
      // waits for PostgreSQL) ends the start cleanly; once it runs, the first drains, a second exits at once.
      const starting = new AbortController();
      let daemon: DaemonHandle | undefined;
      let stopped: () => void = () => undefined;
      const done = new Promise<void>((resolve) => (stopped = resolve));
      let signals = 0;
      const onSignal = (signal: NodeJS.Signals) => {
        signals += 1;
        if (signals > 1) {
          log.warn({ signal }, 'second signal: exiting without draining');
          process.exit(130);
        }
        if (!daemon) {
          log.info({ signal }, 'stopping before the daemon was running');
          starting.abort();
          return;
        }
        log.info({ signal }, 'draining: no new events are fetched; deliveries in flight may finish');
        void daemon.stop().then(stopped);
      };
      process.on('SIGTERM', onSignal);
      process.on('SIGINT', onSignal);
      logHeapGrowth(log, applyHeapGrowth(config.heapGrowthPercent));
      try {
        daemon = await startDaemon(config, { env: process.env, log, version: VERSION, signal: starting.signal });
      } catch (error) {
        if (!(error instanceof StartupAborted)) throw error;
        log.info('stopped');
        return 0;
      }
      if (!config.databaseUrl) {
        const passwordFile = path.join(config.dataDir, PASSWORD_FILE);
        process.stderr.write(embeddedDatabaseNotice(daemon.databaseUrl, passwordFile, process.stderr.isTTY === true));
      }
      if (starting.signal.aborted) {
        // The signal came after the database answered but before start returned: drain as usual.
        log.info('draining: the signal came while the daemon was starting');
        await daemon.stop();
        return 0;
      }
      await done;
      return 0;
    }
    case 'migrate': {
      if (!config.databaseUrl) {
        process.stderr.write('pg-event-triggers: invalid configuration: migrate needs DATABASE_URL\n');
        return 2;
      }
      const pool = createPool({ connectionString: config.databaseUrl, max: 1, applicationName: 'pg-event-triggers migrate', log });
      try {
        await waitForDatabase(pool, log);
        const result = await migrate(pool, config.schema, log);
        log.info({ schema: config.schema, applied: result.applied, current: result.current }, 'catalog is up to date');
      } finally {
        await pool.end();
      }
      return 0;
    }
    case 'apply-metadata': {
      const [project] = parsed.operands;
      if (project === undefined) {
        process.stderr.write('pg-event-triggers: invalid configuration: apply-metadata needs a project (a directory or a file)\n');
        return 2;
      }
      const host = LOOPBACK_FOR_ANY.has(config.host) ? '127.0.0.1' : config.host;
      return applyMetadata({
        project,
        endpoint: parsed.apply.endpoint ?? `http://${host.includes(':') ? `[${host}]` : host}:${config.port}`,
        adminSecret: config.adminSecret,
        dryRun: parsed.apply.dryRun,
        allowInconsistentMetadata: parsed.apply.allowInconsistentMetadata,
        print: (line) => void process.stdout.write(`${line}\n`),
        printError: (line) => void process.stderr.write(`${line}\n`),
      });
    }
    case undefined:
      process.stderr.write(`${helpText()}\n`);
      return 2;
    default:
      process.stderr.write(`pg-event-triggers: invalid configuration: unknown command "${command}" (try --help)\n`);
      return 2;
  }
}

/** One line at start on the V8 heap setting, so a memory profile can be read against it. */
function logHeapGrowth(log: Logger, growth: HeapGrowth): void {
  if (growth.kind === 'capped')
    log.info({ heapGrowthPercent: growth.percent }, 'V8 old generation: collected once it grows past the live heap by HEAP_GROWTH_PERCENT');
  else if (growth.kind === 'v8') log.info({ heapGrowthPercent: 0 }, "V8 old generation: V8's own growth heuristic (HEAP_GROWTH_PERCENT=0)");
  else log.info({ nodeOption: growth.option }, 'V8 old generation: growth set by the node option, HEAP_GROWTH_PERCENT not applied');
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`pg-event-triggers: ${error instanceof StartupError ? '' : 'failed to start: '}${message}\n`);
    process.exit(1);
  },
);
