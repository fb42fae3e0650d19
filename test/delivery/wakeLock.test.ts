/**
 * The wake lock (migration 3, src/delivery/wakeLock.ts): a quiet daemon holds it and is woken by NOTIFY;
 * a busy one lets it go and polls, so capture sends no NOTIFY; a transaction that skipped its NOTIFY is
 * still delivered at once, never after the poll interval. The poll interval is a minute here, so any
 * delivery within seconds came through NOTIFY or the busy polling, not the fallback.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { eventually, openTestDatabase, startTestDaemon, type DaemonHarness } from '../support/daemonHarness.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhookReceiver.js';

let database: Awaited<ReturnType<typeof openTestDatabase>>;
let daemon: DaemonHarness;
let hook: WebhookReceiver;

beforeAll(async () => {
  database = await openTestDatabase();
  hook = await startWebhookReceiver();
  // Claims of 1,000 at a time: busy means over 1,000 claims/s, so the two full claims that fill the
  // claim window (pool + batch) count as busy as long as they fall within a second of each other: the
  // second follows the first at once, so a loaded machine has a second to make that one round trip
  // (with 100 at a time, two fetches had to fall within 100 ms; with 500, within half a second).
  daemon = await startTestDaemon(database.db.url, {
    env: { EVENTS_FETCH_INTERVAL: '60000', EVENTS_FETCH_BATCH_SIZE: '1000', EVENTS_HTTP_POOL_SIZE: '1000' },
  });
  await database.pool.query('create table orders (id int primary key)');
  await daemon.query('create_event_trigger', { name: 'orders', table: 'orders', webhook: hook.url, insert: { columns: '*' } });
});
afterAll(async () => {
  await daemon?.stop();
  await hook?.close();
  await database?.close();
});

/** Whether the daemon's wake connection holds the wake lock (granted) or waits for it (requested). */
async function wakeLock(granted: boolean): Promise<boolean> {
  const { rows } = await database.pool.query(
    `select count(*)::int as n from pg_locks l join pg_stat_activity a on a.pid = l.pid
     where l.locktype = 'advisory' and l.classid = event_triggers.wake_lock_class()::oid and l.objid = 0
       and l.mode = 'ExclusiveLock' and l.granted = $1 and a.application_name = 'pg-event-triggers wake'
       and l.database = (select oid from pg_database where datname = current_database())`,
    [granted],
  );
  return rows[0].n === 1;
}
const daemonHoldsWakeLock = () => wakeLock(true);
const daemonWaitsForWakeLock = () => wakeLock(false);

const deliveredIds = () => new Set(hook.requests.map((r) => r.json.event.data.new.id as number));

test('a quiet daemon holds the wake lock, and an insert wakes it by NOTIFY', async () => {
  await eventually(daemonHoldsWakeLock, 10_000, 'the idle daemon holds the wake lock');
  await database.pool.query('insert into orders values (1)');
  await eventually(() => deliveredIds().has(1), 5_000, 'event 1 delivered without waiting for the poll');
});

test('busy, it lets the lock go and polls; a transaction open meanwhile keeps it from sleeping, and is delivered when it commits', async () => {
  const released = daemon.daemon.engine.stats().wakeLockReleased;
  // The webhook holds its answers: the daemon claims two thousand at once (busy), then waits for room.
  hook.hold();
  try {
    await database.pool.query('insert into orders select generate_series(1001, 6000)');
    await eventually(() => daemon.daemon.engine.stats().wakeLockReleased > released, 10_000, 'the busy daemon lets the lock go');
    expect(await daemonHoldsWakeLock()).toBe(false);
  } catch (error) {
    hook.release(); // or the next test would wait on a held webhook too
    throw error;
  }

  // Inserted while nobody holds the lock: this transaction sends no NOTIFY and holds the lock shared.
  const writer = await database.pool.connect();
  try {
    await writer.query('begin');
    await writer.query('insert into orders values (7000)');
    hook.release();
    await hook.waitForRequests(5001, 60_000);
    // The burst is over; the daemon asks for the lock to sleep, but the open writer keeps it waiting.
    await eventually(daemonWaitsForWakeLock, 10_000, 'the quiet daemon asking for the wake lock');
    expect(await daemonHoldsWakeLock()).toBe(false);
    await writer.query('commit');
  } finally {
    writer.release();
  }
  await eventually(() => deliveredIds().has(7000), 5_000, 'the event that skipped its NOTIFY is delivered at once');
  await eventually(daemonHoldsWakeLock, 10_000, 'the quiet daemon holds the wake lock again');

  await database.pool.query('insert into orders values (8000)');
  await eventually(() => deliveredIds().has(8000), 5_000, 'NOTIFY wakes it again');
  expect(hook.requests).toHaveLength(5003);
});

test('a second daemon waits for the lock, and takes it over when the first one stops', async () => {
  const second = await startTestDaemon(database.db.url, { env: { EVENTS_FETCH_INTERVAL: '60000' } });
  try {
    await eventually(daemonHoldsWakeLock, 10_000, 'one daemon holds the wake lock');
    await daemon.stop();
    await eventually(daemonHoldsWakeLock, 10_000, 'the second daemon took the wake lock over');
    await database.pool.query('insert into orders values (9000)');
    await eventually(() => deliveredIds().has(9000), 5_000, 'NOTIFY wakes the second daemon');
  } finally {
    await second.stop();
  }
});
