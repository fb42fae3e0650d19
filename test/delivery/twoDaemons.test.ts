/** Several daemons share one database: SKIP LOCKED claims give each event to exactly one of them. */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { eventually, openTestDatabase, startTestDaemon, type DaemonHarness } from '../support/daemonHarness.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhookReceiver.js';

let database: Awaited<ReturnType<typeof openTestDatabase>>;
let daemons: DaemonHarness[] = [];
let hook: WebhookReceiver;

beforeAll(async () => {
  database = await openTestDatabase();
  hook = await startWebhookReceiver();
  const env = { EVENTS_HTTP_POOL_SIZE: '16', EVENTS_FETCH_BATCH_SIZE: '40', DB_POOL_SIZE: '4' };
  daemons = [await startTestDaemon(database.db.url, { env }), await startTestDaemon(database.db.url, { env })];
  await database.pool.query('create table shared (id int primary key)');
  await daemons[0]!.query('create_event_trigger', { name: 'shared', table: 'shared', webhook: hook.url, insert: { columns: '*' } });
});
afterAll(async () => {
  await Promise.all(daemons.map((d) => d.stop()));
  await hook?.close();
  await database?.close();
});

test('two daemons deliver 5000 events with no event delivered twice', async () => {
  hook.respondWith(() => ({ status: 200, delayMs: 1 }));
  // In several transactions, so both daemons are woken while work keeps arriving.
  for (let i = 0; i < 10; i++) {
    await database.pool.query('insert into shared select generate_series($1::int, $2::int)', [i * 500 + 1, i * 500 + 500]);
  }
  await hook.waitForRequests(5000, 60_000);
  await eventually(
    async () => {
      const { rows } = await database.pool.query('select count(*)::int as n from event_triggers.event_log where delivered');
      return rows[0].n === 5000;
    },
    20_000,
    'all delivered',
  );
  await new Promise((r) => setTimeout(r, 500));
  const ids = hook.requests.map((r) => r.json.event.data.new.id as number);
  expect(ids).toHaveLength(5000);
  expect(new Set(ids).size).toBe(5000);
  // Both took part: the work was shared, not merely survived by one.
  const { rows } = await database.pool.query('select count(distinct l.id)::int as invocations from event_triggers.event_invocation_logs l');
  expect(rows[0].invocations).toBe(5000);
  const stats = daemons.map((d) => d.daemon.engine.stats().claimed);
  expect(stats.every((claimed) => claimed > 0)).toBe(true);
  expect(stats[0]! + stats[1]!).toBe(5000);
});
