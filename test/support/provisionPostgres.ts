/**
 * Provisions the PostgreSQL server a test run talks to, in this order: TEST_DATABASE_URL if set;
 * testcontainers' PostgreSQL module when a container engine answers; else an embedded PostgreSQL
 * from npm (one cluster per run, durability off for speed). Used by the vitest global setup and by
 * the benchmark.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { startEmbeddedPostgres } from '../../src/db/embedded.js';

export interface ProvisionedPostgres {
  /** URL of a database the run may use to create and drop its own databases. */
  adminUrl: string;
  kind: 'TEST_DATABASE_URL' | 'testcontainers' | 'embedded';
  stop(): Promise<void>;
}

/** Server settings for throwaway clusters: fast, not durable, room for many connections. */
const FAST_SETTINGS = { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off', max_connections: 400 };

export async function provisionPostgres(envVar = 'TEST_DATABASE_URL'): Promise<ProvisionedPostgres> {
  const given = process.env[envVar];
  if (given) return { adminUrl: given, kind: 'TEST_DATABASE_URL', stop: async () => undefined };

  const container = await tryTestcontainers();
  if (container) return container;

  const dataDir = path.join(await mkdtemp(path.join(tmpdir(), 'pget-pg-')), 'data');
  const port = await freePort();
  const server = await startEmbeddedPostgres({ dataDir, port, settings: FAST_SETTINGS });
  return { adminUrl: server.url, kind: 'embedded', stop: () => server.stop() };
}

async function tryTestcontainers(): Promise<ProvisionedPostgres | undefined> {
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await getContainerRuntimeClient();
  } catch {
    return undefined; // no container engine here: fall back to the embedded server
  }
  const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
  const flags = Object.entries(FAST_SETTINGS).flatMap(([k, v]) => ['-c', `${k}=${v}`]);
  const started = await new PostgreSqlContainer('postgres:17-alpine').withCommand(['postgres', ...flags]).start();
  return { adminUrl: started.getConnectionUri(), kind: 'testcontainers', stop: async () => void (await started.stop()) };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
