/** The HTTP pool bounds deliveries in flight; a flood waits its turn and is delivered once. */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { eventually, openTestDatabase, startTestDaemon, type DaemonHarness } from '../support/daemonHarness.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhookReceiver.js';

let database: Awaited<ReturnType<typeof openTestDatabase>>;
let daemon: DaemonHarness;
let hook: WebhookReceiver;

beforeAll(async () => {
  database = await openTestDatabase();
  hook = await startWebhookReceiver();
  daemon = await startTestDaemon(database.db.url, { env: { EVENTS_HTTP_POOL_SIZE: '8', EVENTS_FETCH_BATCH_SIZE: '50' } });
  await database.pool.query('create table flood (id int primary key)');
  await daemon.query('create_event_trigger', { name: 'flood', table: 'flood', webhook: hook.url, insert: { columns: '*' } });
});
afterAll(async () => {
  await daemon?.stop();
  await hook?.close();
  await database?.close();
});

test('1000 inserts with a pool of 8 and a blocking webhook: exactly 8 in flight, all delivered once unblocked', async () => {
  hook.hold();
  await database.pool.query('insert into flood select generate_series(1, 1000)');
  await eventually(() => hook.inFlight() === 8, 10_000, '8 requests in flight');
  // Give the daemon every chance to exceed its bound before looking again.
  await new Promise((r) => setTimeout(r, 1000));
  expect(hook.inFlight()).toBe(8);
  expect(hook.maxInFlight()).toBe(8);
  expect(hook.requests).toHaveLength(8);

  hook.release();
  await hook.waitForRequests(1000, 30_000);
  await eventually(
    async () => {
      const { rows } = await database.pool.query('select count(*)::int as n from event_triggers.event_log where delivered');
      return rows[0].n === 1000;
    },
    15_000,
    'all 1000 recorded as delivered',
  );
  await new Promise((r) => setTimeout(r, 300));
  const ids = hook.requests.map((r) => r.json.event.data.new.id);
  expect(ids).toHaveLength(1000);
  expect(new Set(ids).size).toBe(1000);
  expect(hook.maxInFlight()).toBe(8);
});
