/**
 * The trigger registry's reloads against a real catalog. Its connection goes through a TCP proxy that
 * holds the server's answer back, so a load can be kept in flight after PostgreSQL has run its query:
 * a load that read the catalog before a change committed, exactly the one a late caller must not share.
 */
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { TriggerRegistry } from '../../src/catalog/triggerRegistry.js';
import { startApi, type ApiHarness } from '../support/apiHarness.js';
import { eventually } from '../support/daemonHarness.js';
import { startTcpProxy, type TcpProxy } from '../support/tcpProxy.js';

let api: ApiHarness;
let proxy: TcpProxy;
let pool: pg.Pool;
let registry: TriggerRegistry;
let loads = 0;

beforeAll(async () => {
  api = await startApi();
  await api.pool.query('create table registry_items (id int primary key)');
  proxy = await startTcpProxy(api.db.url);
  // One connection, so the proxy's first connection is the registry's.
  pool = new pg.Pool({ connectionString: proxy.url, max: 1 });
  pool.on('acquire', () => (loads += 1));
  registry = new TriggerRegistry(pool, 'event_triggers', {}, pino({ level: 'silent' }));
});
afterAll(async () => {
  await pool?.end();
  await proxy?.close();
  await api?.close();
});

const created = new Set<string>();

/** Creates the trigger, or replaces it if this file created it already (replace is not an upsert). */
async function createTrigger(name: string, webhook: string) {
  const res = await api.query('create_event_trigger', {
    name,
    table: 'registry_items',
    webhook,
    insert: { columns: '*' },
    replace: created.has(name),
  });
  created.add(name);
  expect(res.status).toBe(200);
}

/**
 * Starts a reload whose query PostgreSQL has answered, with the answer held back in the proxy. (Wrapped
 * in an object: an async function returning the promise itself would wait for it.)
 */
async function reloadHeldBack(): Promise<{ stale: Promise<void> }> {
  const connection = proxy.connections[0]!;
  connection.pause();
  const held = registry.reload();
  await eventually(() => connection.heldBytes > 0, 10_000, 'the first load answered by PostgreSQL');
  return { stale: held };
}

test('a reload asked for while a load is in flight waits for a load that started after it', async () => {
  await createTrigger('gone_soon', 'http://127.0.0.1:9/a');
  await registry.reload();
  expect(registry.get('gone_soon')).toBeDefined();

  const { stale } = await reloadHeldBack();
  // The delete commits after the first load read the catalog: the caller told about it must see it.
  expect((await api.query('delete_event_trigger', { name: 'gone_soon' })).status).toBe(200);
  const fresh = registry.reload();
  proxy.connections[0]!.resume();
  await stale;
  await fresh;
  expect(registry.get('gone_soon')).toBeUndefined();
});

test('callers arriving during one load share the single load queued after it; a replace is seen', async () => {
  await createTrigger('replaced', 'http://127.0.0.1:9/old');
  await registry.reload();
  const before = loads;

  const { stale } = await reloadHeldBack();
  await createTrigger('replaced', 'http://127.0.0.1:9/new');
  const callers = [registry.reload(), registry.reload(), registry.getFresh('not-there')];
  proxy.connections[0]!.resume();
  await Promise.all([stale, ...callers]);
  expect(registry.get('replaced')?.url).toBe('http://127.0.0.1:9/new');
  // The held one and one more for all three callers.
  expect(loads - before).toBe(2);
});
