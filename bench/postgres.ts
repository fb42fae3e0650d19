/**
 * The PostgreSQL the benchmark runs on: BENCH_DATABASE_URL, or the same embedded PostgreSQL the daemon
 * boots without a DATABASE_URL, with its default (durable) settings. Each contender gets a database of
 * its own, so one's triggers never cost another.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres } from '../src/db/embedded.js';
import { freePort } from '../test/support/provisionPostgres.js';
import { processTreeCpuMs } from './processStats.js';

export interface BenchPostgres {
  kind: 'BENCH_DATABASE_URL' | 'embedded';
  host: string;
  port: number;
  version: string;
  /**
   * CPU milliseconds the whole server has used so far (every backend and background process), or
   * undefined for a BENCH_DATABASE_URL, whose processes this machine may not see.
   */
  serverCpuMs(): number | undefined;
  /** Creates an empty database and returns its URL. */
  createDatabase(name: string): Promise<string>;
  stop(): Promise<void>;
}

export async function provisionBenchPostgres(givenUrl: string | undefined): Promise<BenchPostgres> {
  let adminUrl: string;
  let stopServer = (): Promise<void> => Promise.resolve();
  let serverCpuMs = (): number | undefined => undefined;
  let kind: BenchPostgres['kind'] = 'BENCH_DATABASE_URL';
  if (givenUrl) {
    adminUrl = givenUrl;
  } else {
    kind = 'embedded';
    const root = await mkdtemp(path.join(tmpdir(), 'pget-bench-'));
    // Room for every contender's connections; everything else as PostgreSQL ships it.
    const server = await startEmbeddedPostgres({
      dataDir: path.join(root, 'data'),
      port: await freePort(),
      settings: { max_connections: 300 },
      // BENCH_PG_LOG=1 shows the server's own log, for when a run fails on the database side.
      ...(process.env.BENCH_PG_LOG ? { onLog: (line: string) => process.stderr.write(`postgres: ${line}`) } : {}),
    });
    adminUrl = server.url;
    const postmasterPid = Number(readFileSync(path.join(root, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
    serverCpuMs = () => processTreeCpuMs(postmasterPid);
    stopServer = async () => {
      await server.stop();
      await rm(root, { recursive: true, force: true });
    };
  }
  const admin = new pg.Client({ connectionString: adminUrl });
  // A server that goes away mid-run must fail the run with a message, not crash it with an 'error' event.
  admin.on('error', (error) => process.stderr.write(`bench: lost the admin connection: ${error.message}\n`));
  await admin.connect();
  const version = (await admin.query<{ server_version: string }>('show server_version')).rows[0]!.server_version;
  const created: string[] = [];
  const parsed = new URL(adminUrl);
  return {
    kind,
    host: parsed.hostname,
    port: Number(parsed.port || 5432),
    version,
    serverCpuMs: () => serverCpuMs(),
    async createDatabase(name) {
      const database = `${name}_${process.pid}`;
      await admin.query(`drop database if exists ${pg.escapeIdentifier(database)} with (force)`);
      await admin.query(`create database ${pg.escapeIdentifier(database)}`);
      created.push(database);
      const url = new URL(adminUrl);
      url.pathname = `/${encodeURIComponent(database)}`;
      return url.toString();
    },
    async stop() {
      for (const database of created) {
        await admin.query(`drop database if exists ${pg.escapeIdentifier(database)} with (force)`).catch(() => undefined);
      }
      await admin.end();
      await stopServer();
    },
  };
}
