/**
 * PostgreSQL stopped and started again while events flow: the daemon stays up, answers 503 on /healthz
 * meanwhile, reconnects its pool and its LISTEN, resumes, and loses nothing.
 *
 * The run's shared cluster cannot be stopped, so this file starts a PostgreSQL server of its own.
 */
import pg from 'pg';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { eventually } from '../support/daemonHarness.js';
import { spawnDaemon, type DaemonProcess } from '../support/daemonProcess.js';
import { startOwnPostgres, type OwnPostgres } from '../support/ownPostgres.js';
import {
  apiQuery,
  arrivalsById,
  duplicateArrivals,
  eventLogCounts,
  eventLogIds,
  healthStatus,
  isAlive,
  sleep,
  tail,
  wakeLockHeld,
} from '../support/reliability.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhookReceiver.js';

const POOL = 16;
/** Far beyond the test's waits: prompt deliveries after the restart cannot be the fallback poll's doing. */
const POLL_INTERVAL_MS = 30_000;

let server: OwnPostgres;
let pool: pg.Pool;
let hook: WebhookReceiver;
let daemon: DaemonProcess | undefined;

beforeAll(async () => {
  [server, hook] = await Promise.all([startOwnPostgres(), startWebhookReceiver()]);
  pool = new pg.Pool({ connectionString: server.url, max: 4 });
  // The test's own connections die with the server too; that must not fail the file.
  pool.on('error', () => undefined);
});
afterAll(async () => {
  await daemon?.kill('SIGKILL');
  await hook?.close();
  await pool?.end().catch(() => undefined);
  await server?.destroy();
});

test('PostgreSQL restarts mid-delivery: daemon stays up, 503 meanwhile, reconnects, delivers every event', async () => {
  await pool.query('create table orders (id int primary key)');
  hook.respondWith(() => ({ status: 200, delayMs: 10 }));
  daemon = await spawnDaemon({
    DATABASE_URL: server.url,
    EVENTS_HTTP_POOL_SIZE: String(POOL),
    EVENTS_FETCH_BATCH_SIZE: '50',
    EVENTS_FETCH_INTERVAL: String(POLL_INTERVAL_MS),
    HEARTBEAT_TIMEOUT_MS: '3000',
  });
  await apiQuery(daemon.url, 'create_event_trigger', {
    name: 'orders',
    table: 'orders',
    webhook: hook.url,
    insert: { columns: '*' },
    retry_conf: { num_retries: 5, interval_sec: 1, timeout_sec: 10 },
  });
  expect(await healthStatus(daemon.url)).toBe(200);

  // Phase 1: 1500 events in 15 transactions while the webhook is receiving.
  for (let i = 0; i < 15; i++) {
    await pool.query('insert into orders select generate_series($1::int, $2::int)', [i * 100 + 1, i * 100 + 100]);
    await sleep(30);
  }
  await hook.waitForRequests(300, 20_000);
  // The webhook holds its answers from now on: the stop lands mid-delivery, with requests in flight whose
  // answers come back only once PostgreSQL is gone.
  hook.hold();
  await eventually(() => hook.inFlight() > 0, 10_000, 'deliveries in flight');
  const before = await eventLogCounts(pool);
  expect(before.total).toBe(1500);
  expect(before.delivered).toBeLessThan(1500);

  // PostgreSQL goes away (a fast shutdown: every session is terminated).
  const arrivedAtStop = hook.requests.length;
  await server.stop();
  const stoppedAt = Date.now();
  hook.release(); // the deliveries in flight finish while it is down

  // The daemon stays up and says it is unhealthy.
  await eventually(async () => (await healthStatus(daemon!.url)) === 503, 5000, `/healthz 503 (log:\n${tail(daemon)})`);
  const unhealthyAfterMs = Date.now() - stoppedAt;
  await sleep(2500);
  expect(isAlive(daemon), `daemon exited while PostgreSQL was down:\n${tail(daemon)}`).toBe(true);
  expect(await healthStatus(daemon.url)).toBe(503);
  // Deliveries already under way finished meanwhile; nothing new could be claimed.
  const arrivedWhileDown = hook.requests.length - arrivedAtStop;
  expect(arrivedWhileDown).toBeLessThanOrEqual(POOL);

  // PostgreSQL comes back on the same port and data folder.
  await server.start();
  const restartedAt = Date.now();
  const arrivedAtRestart = hook.requests.length;
  await eventually(async () => (await healthStatus(daemon!.url)) === 200, 15_000, `/healthz 200 again (log:\n${tail(daemon)})`);
  const healthyAfterMs = Date.now() - restartedAt;
  // Deliveries resume by themselves: the held outcomes are written and fetching starts again, within
  // the reconnect backoffs (at most 5 s), long before the 30 s poll.
  await hook.waitForRequests(arrivedAtRestart + 1, POLL_INTERVAL_MS);
  const resumedAfterMs = hook.requests[arrivedAtRestart]!.at - restartedAt;
  // Half the poll interval: the fallback poll, had it been what resumed them, would come later than that.
  expect(resumedAfterMs).toBeLessThan(POLL_INTERVAL_MS / 2);

  // Phase 2: 500 more events after the restart.
  const phase2At = Date.now();
  for (let i = 15; i < 20; i++) {
    await pool.query('insert into orders select generate_series($1::int, $2::int)', [i * 100 + 1, i * 100 + 100]);
  }
  await eventually(async () => (await eventLogCounts(pool)).delivered === 2000, 30_000, `all 2000 delivered (log:\n${tail(daemon)})`);

  // Nothing lost: every event in the log reached the webhook, and every one is recorded as delivered.
  const counts = await eventLogCounts(pool);
  expect(counts).toEqual({ total: 2000, delivered: 2000, error: 0, locked: 0 });
  const ids = await eventLogIds(pool);
  const arrivals = arrivalsById(hook.requests);
  expect(new Set(arrivals.keys())).toEqual(ids);
  // No crash, so no duplicate: outcomes of the deliveries that finished while the database was down
  // waited in memory and were written when it came back, under the lock this daemon still held.
  expect(duplicateArrivals(hook.requests)).toBe(0);

  // Events inserted after the restart were all delivered, once each.
  const phase2 = hook.requests.filter((r) => (r.json.event.data.new.id as number) > 1500);
  expect(phase2).toHaveLength(500);
  const lastPhase2 = Math.max(...phase2.map((r) => r.at));

  // LISTEN is back: once the idle daemon sleeps until NOTIFY again (it holds the wake lock), one more
  // event is woken by its NOTIFY, well within the 30 s poll.
  // Its reconnect backs off up to 5 s (with jitter), so it may come after phase 2 was delivered by polling.
  await eventually(
    () => daemon!.lines.some((l) => l.includes('LISTEN connection restored')),
    15_000,
    `LISTEN restored (log:\n${tail(daemon)})`,
  );
  await eventually(() => wakeLockHeld(pool), 15_000, `the idle daemon holding the wake lock again (log:\n${tail(daemon)})`);
  const lateAt = Date.now();
  await pool.query('insert into orders values (5000)');
  const late = await hook.waitForRequests(2001, POLL_INTERVAL_MS);
  expect(late[2000]!.json.event.data.new.id).toBe(5000);
  expect(late[2000]!.at - lateAt).toBeLessThan(POLL_INTERVAL_MS / 2);
  expect(isAlive(daemon)).toBe(true);
  expect(await healthStatus(daemon.url)).toBe(200);

  console.log(
    `[postgresRestart] 503 after ${unhealthyAfterMs} ms, 200 again ${healthyAfterMs} ms after the restart, ` +
      `${arrivedWhileDown} deliveries finished while down, deliveries resumed ${resumedAfterMs} ms after the restart, ` +
      `last post-restart event ${lastPhase2 - phase2At} ms after insert`,
  );
}, 120_000);
