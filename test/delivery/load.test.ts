/**
 * Under load, two things keep the daemon's cost per event down, and both are checked here on a daemon
 * run as a user runs it, from what it reports and what the webhook sees:
 *
 * - outcomes are written in batches (group commit, src/delivery/recorder.ts): the engine counters the
 *   daemon logs when it stops show far fewer writes than attempts recorded;
 * - webhook calls go through one keep-alive connection pool per origin (src/delivery/webhookClient.ts):
 *   the webhook accepts a few dozen connections for thousands of requests, across every trigger that
 *   posts to it: at most twice EVENTS_HTTP_POOL_SIZE, the most requests the scheduler lets fly at once
 *   when two triggers share the pool (scheduler.ts).
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { eventually, openTestDatabase } from '../support/daemonHarness.js';
import { spawnDaemon, type DaemonProcess } from '../support/daemonProcess.js';
import { apiQuery, eventLogCounts, waitForLog } from '../support/reliability.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhookReceiver.js';

const POOL = 32;
const PER_TRIGGER = 1500;

let database: Awaited<ReturnType<typeof openTestDatabase>>;
let hook: WebhookReceiver;
let daemon: DaemonProcess;

beforeAll(async () => {
  database = await openTestDatabase();
  hook = await startWebhookReceiver();
  daemon = await spawnDaemon({ DATABASE_URL: database.db.url, EVENTS_HTTP_POOL_SIZE: String(POOL), EVENTS_FETCH_BATCH_SIZE: '100' });
});
afterAll(async () => {
  await daemon?.kill('SIGKILL');
  await hook?.close();
  await database?.close();
});

test(`${2 * PER_TRIGGER} events for two triggers on one webhook: outcomes written in batches, one pool of at most ${2 * POOL} keep-alive connections`, async () => {
  // Answers take a few ms, so that many deliveries end while an earlier batch is being written.
  hook.respondWith(() => ({ status: 200, body: '{"ok":true}', delayMs: 3 }));
  await database.pool.query('create table orders (id int primary key)');
  await database.pool.query('create table refunds (id int primary key)');
  // Two triggers, two paths, one origin: the pool is per origin, not per trigger.
  const origin = new URL(hook.url).origin;
  for (const name of ['orders', 'refunds']) {
    await apiQuery(daemon.url, 'create_event_trigger', { name, table: name, webhook: `${origin}/${name}`, insert: { columns: '*' } });
  }
  await database.pool.query('insert into orders select generate_series(1, $1::int)', [PER_TRIGGER]);
  await database.pool.query('insert into refunds select generate_series(1, $1::int)', [PER_TRIGGER]);
  await hook.waitForRequests(2 * PER_TRIGGER, 60_000);
  await eventually(async () => (await eventLogCounts(database.pool)).delivered === 2 * PER_TRIGGER, 30_000, 'all recorded as delivered');

  // Every request reached the webhook once, over the same few connections.
  expect(hook.requests).toHaveLength(2 * PER_TRIGGER);
  expect(new Set(hook.requests.map((r) => r.path))).toEqual(new Set(['/orders', '/refunds']));
  expect(hook.connections()).toBeGreaterThan(0);
  expect(hook.connections()).toBeLessThanOrEqual(2 * POOL);
  expect(hook.maxInFlight()).toBeLessThanOrEqual(2 * POOL);

  // The counters, as the daemon reports them when it stops.
  expect((await daemon.kill('SIGTERM')).code).toBe(0);
  const { stats } = (await waitForLog(daemon, 'pg-event-triggers stopped', 0)) as unknown as {
    stats: { attemptsRecorded: number; recorderWrites: number; claimed: number; fetches: number };
  };
  console.log(
    `[load] ${hook.requests.length} requests over ${hook.connections()} connections; ${stats.attemptsRecorded} attempts in ` +
      `${stats.recorderWrites} writes (${(stats.attemptsRecorded / stats.recorderWrites).toFixed(1)} per write), ` +
      `${stats.claimed} claimed in ${stats.fetches} fetches`,
  );
  expect(stats.attemptsRecorded).toBe(2 * PER_TRIGGER);
  expect(stats.claimed).toBe(2 * PER_TRIGGER);
  expect(stats.recorderWrites).toBeGreaterThan(0);
  expect(stats.recorderWrites).toBeLessThan(stats.attemptsRecorded / 2);
}, 120_000);
