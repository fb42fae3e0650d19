/**
 * Provisions the PostgreSQL server a test run talks to, in this order: TEST_DATABASE_URL if set;
 * testcontainers' PostgreSQL module when a container engine answers; else an embedded PostgreSQL
 * from npm (one cluster per run, durability off for speed). Used by the vitest global setup and by
 * the benchmark.
 *
 * TEST_POSTGRES=embedded skips the container engine; TEST_POSTGRES=testcontainers insists on it (a
 * failure is then an error, not a fallback). When an engine answers but the container cannot be had
 * (no network to pull the image, an engine that hangs), the run warns and falls back to the embedded
 * server: both the probe and the start have a deadline.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startEmbeddedPostgres } from '../../src/db/embedded.js';
import { freePort } from './ports.js';

export { freePort } from './ports.js';

export interface ProvisionedPostgres {
  /** URL of a database the run may use to create and drop its own databases. */
  adminUrl: string;
  kind: 'TEST_DATABASE_URL' | 'testcontainers' | 'embedded';
  stop(): Promise<void>;
}

/** Server settings for throwaway clusters: fast, not durable, room for many connections. */
const FAST_SETTINGS = { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off', max_connections: 400 };

/** How long the container engine may take to answer whether it is there. */
const PROBE_TIMEOUT_MS = 10_000;
/** How long pulling the image and starting the container may take before the embedded server is used. */
const CONTAINER_START_TIMEOUT_MS = 120_000;

type Choice = 'auto' | 'embedded' | 'testcontainers';

export async function provisionPostgres(envVar = 'TEST_DATABASE_URL'): Promise<ProvisionedPostgres> {
  const given = process.env[envVar];
  if (given) return { adminUrl: given, kind: 'TEST_DATABASE_URL', stop: () => Promise.resolve() };

  const choice = (process.env.TEST_POSTGRES ?? 'auto') as Choice;
  if (!['auto', 'embedded', 'testcontainers'].includes(choice)) {
    throw new Error(`TEST_POSTGRES must be auto, embedded or testcontainers, got "${choice}"`);
  }
  if (choice !== 'embedded') {
    const container = await tryTestcontainers(choice === 'testcontainers');
    if (container) return container;
  }
  return startEmbedded();
}

async function startEmbedded(): Promise<ProvisionedPostgres> {
  const root = await mkdtemp(path.join(tmpdir(), 'pget-pg-'));
  try {
    const server = await startEmbeddedPostgres({ dataDir: path.join(root, 'data'), port: await freePort(), settings: FAST_SETTINGS });
    return {
      adminUrl: server.url,
      kind: 'embedded',
      async stop() {
        await server.stop();
        await rm(root, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await rm(root, { recursive: true, force: true });
    throw error;
  }
}

/** The container's PostgreSQL, or undefined (with a warning when an engine answered) to fall back. */
async function tryTestcontainers(required: boolean): Promise<ProvisionedPostgres | undefined> {
  const fail = (why: string, error?: unknown): undefined => {
    const detail = error instanceof Error ? `: ${error.message.split('\n')[0]}` : '';
    if (required) throw new Error(`TEST_POSTGRES=testcontainers, but ${why}${detail}`);
    return undefined;
  };
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await withDeadline(getContainerRuntimeClient(), PROBE_TIMEOUT_MS, 'the container engine did not answer');
  } catch (error) {
    return fail('no container engine answers', error); // the usual case without an engine: quietly embedded
  }
  const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
  const flags = Object.entries(FAST_SETTINGS).flatMap(([k, v]) => ['-c', `${k}=${v}`]);
  const starting = new PostgreSqlContainer('postgres:17-alpine')
    .withCommand(['postgres', ...flags])
    .withStartupTimeout(CONTAINER_START_TIMEOUT_MS)
    .start();
  try {
    const started = await withDeadline(starting, CONTAINER_START_TIMEOUT_MS, 'the container did not start in time');
    return { adminUrl: started.getConnectionUri(), kind: 'testcontainers', stop: async () => void (await started.stop()) };
  } catch (error) {
    // A start that finishes after the deadline must not leave a container behind.
    starting
      .then(
        (late) => late.stop(),
        () => undefined,
      )
      .catch(() => undefined);
    if (!required) {
      console.warn(
        `[test] a container engine answers, but PostgreSQL could not be started in it (${(error as Error).message.split('\n')[0]}); ` +
          'using the embedded PostgreSQL instead (TEST_POSTGRES=embedded skips the engine)',
      );
    }
    return fail('the PostgreSQL container could not be started', error);
  }
}

function withDeadline<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${message} within ${ms / 1000} s`)), ms);
    timer.unref();
    promise.then(
      (value) => (clearTimeout(timer), resolve(value)),
      (error: unknown) => (clearTimeout(timer), reject(error instanceof Error ? error : new Error(String(error)))),
    );
  });
}
