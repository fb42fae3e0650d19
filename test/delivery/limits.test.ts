/**
 * Limits a user sets per trigger hold across daemons: two daemons share the database, and the receiver
 * counts what reaches it. max_in_flight bounds the requests in flight at once over both; a replace that
 * changes it applies from the next claim; max_events_per_second holds the rate within 10%.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { eventually, openTestDatabase, startTestDaemon, type DaemonHarness } from '../support/daemonHarness.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhookReceiver.js';

let database: Awaited<ReturnType<typeof openTestDatabase>>;
let daemons: DaemonHarness[] = [];
let hook: WebhookReceiver;

beforeAll(async () => {
  database = await openTestDatabase();
  hook = await startWebhookReceiver();
  const env = { EVENTS_HTTP_POOL_SIZE: '16', EVENTS_FETCH_BATCH_SIZE: '20', EVENTS_FETCH_INTERVAL: '200' };
  daemons = [await startTestDaemon(database.db.url, { env }), await startTestDaemon(database.db.url, { env })];
  await database.pool.query('create table jobs (id int primary key)');
  await database.pool.query('create table pings (id int primary key)');
});
afterAll(async () => {
  await Promise.all(daemons.map((d) => d.stop()));
  await hook?.close();
  await database?.close();
});

const delivered = async (trigger: string) =>
  Number(
    (await database.pool.query('select count(*)::int as n from event_triggers.event_log where trigger_name = $1 and delivered', [trigger]))
      .rows[0].n,
  );

/** Answers after `delayMs`, counting the requests of each trigger in flight at once. */
function countConcurrency(delayMs: number) {
  let current = 0;
  let peak = 0;
  hook.respondWith(async () => {
    current += 1;
    peak = Math.max(peak, current);
    await new Promise((r) => setTimeout(r, delayMs));
    current -= 1;
    return { status: 200 };
  });
  return { peak: () => peak, reset: () => (peak = current) };
}

test('max_in_flight holds over two daemons, and a replace that raises it applies from the next claim', async () => {
  const create = (maxInFlight: number, replace: boolean) =>
    daemons[1]!.query('create_event_trigger', {
      name: 'jobs',
      table: 'jobs',
      webhook: hook.url,
      insert: { columns: '*' },
      flow_control: { max_in_flight: maxInFlight },
      replace,
    });
  await create(3, false);
  const concurrency = countConcurrency(100);
  await database.pool.query('insert into jobs select generate_series(1, 60)');
  await eventually(async () => (await delivered('jobs')) === 60, 30_000, 'every job delivered');
  // Both daemons claim; the limit is the cluster's, not each daemon's (claimDue.test.ts races claims).
  expect(concurrency.peak()).toBe(3);

  await create(6, true);
  concurrency.reset();
  await database.pool.query('insert into jobs select generate_series(61, 120)');
  await eventually(async () => (await delivered('jobs')) === 120, 30_000, 'every job delivered');
  expect(concurrency.peak()).toBeGreaterThan(3);
  expect(concurrency.peak()).toBeLessThanOrEqual(6);
}, 60_000);

test('max_events_per_second holds the rate over two daemons within 10%', async () => {
  const RATE = 20;
  const EVENTS = 80;
  hook.respondWith(() => ({ status: 200 }));
  await daemons[0]!.query('create_event_trigger', {
    name: 'pings',
    table: 'pings',
    webhook: `${hook.url}?pings`,
    insert: { columns: '*' },
    flow_control: { max_events_per_second: RATE },
  });
  const before = hook.requests.length;
  await database.pool.query('insert into pings select generate_series(1, $1::int)', [EVENTS]);
  await eventually(async () => (await delivered('pings')) === EVENTS, 30_000, 'every ping delivered');
  const times = hook.requests.slice(before).map((r) => r.at);
  // The bucket starts with its burst (a tenth of a second's worth: 2 tokens); the rest is paced.
  const burst = Math.max(1, RATE / 10);
  const rate = ((EVENTS - burst) * 1000) / (times.at(-1)! - times[0]!);
  console.log(`[limits] ${EVENTS} events at max_events_per_second ${RATE}: ${rate.toFixed(1)}/s`);
  expect(rate).toBeLessThanOrEqual(RATE * 1.1);
  expect(rate).toBeGreaterThanOrEqual(RATE * 0.9);
}, 60_000);
