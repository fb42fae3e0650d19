/**
 * SIGTERM and SIGINT: graceful drain; in-flight deliveries finish (up to a timeout), nothing stays locked.
 *
 * The daemon runs as its own process, started as a user starts it, and is sent a real SIGTERM while
 * a real webhook holds its requests.
 */
import { afterAll, afterEach, beforeAll, expect, test } from 'vitest';
import { query } from '../support/daemonApi.js';
import { eventually, openTestDatabase } from '../support/daemonHarness.js';
import { spawnDaemon, type DaemonProcess } from '../support/daemonProcess.js';
import { waitForLog, wakeLockHeld } from '../support/reliability.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhookReceiver.js';

let database: Awaited<ReturnType<typeof openTestDatabase>>;
const daemons: DaemonProcess[] = [];
const hooks: WebhookReceiver[] = [];

beforeAll(async () => {
  database = await openTestDatabase();
});
afterEach(async () => {
  // A test that failed half-way must not leave a daemon behind.
  for (const d of daemons.splice(0)) if (d.child.exitCode === null && d.child.signalCode === null) await d.kill('SIGKILL');
  for (const h of hooks.splice(0)) await h.close();
});
afterAll(() => database?.close());

async function start(env: Record<string, string>): Promise<DaemonProcess> {
  const daemon = await spawnDaemon({ DATABASE_URL: database.db.url, EVENTS_FETCH_INTERVAL: '500', ...env });
  daemons.push(daemon);
  return daemon;
}

async function hook(): Promise<WebhookReceiver> {
  const h = await startWebhookReceiver();
  hooks.push(h);
  return h;
}

interface EventRow {
  id: string;
  row_id: number;
  delivered: boolean;
  error: boolean;
  tries: number;
  locked_by: string | null;
  locked_at: Date | null;
  logs: number;
  ok_logs: number;
}

async function eventRows(schema: string): Promise<EventRow[]> {
  const { rows } = await database.pool.query<EventRow>(
    `select e.id, (e.payload->'data'->'new'->>'id')::int as row_id, e.delivered, e.error, e.tries, e.locked_by, e.locked_at,
            (select count(*)::int from ${schema}.event_invocation_logs l where l.event_id = e.id) as logs,
            (select count(*)::int from ${schema}.event_invocation_logs l where l.event_id = e.id and l.status = 200) as ok_logs
     from ${schema}.event_log e order by row_id`,
  );
  return rows;
}

async function lockedCount(schema: string): Promise<number> {
  const { rows } = await database.pool.query(
    `select count(*)::int as n from ${schema}.event_log where locked_by is not null or locked_at is not null`,
  );
  return rows[0].n;
}

test.each(['SIGTERM', 'SIGINT'] as const)(
  '%s with 4 deliveries in flight: they finish and are recorded, the queued ones are released, exit 0; the next daemon delivers the rest',
  async (signal) => {
    const schema = `drain_graceful_${signal.toLowerCase()}`;
    const table = `drain_graceful_${signal.toLowerCase()}_items`;
    const webhook = await hook();
    // Every request waits, unanswered, until release(): the 4 in flight can only finish during the drain.
    webhook.hold();
    const env = { EVENT_TRIGGERS_SCHEMA: schema, EVENTS_HTTP_POOL_SIZE: '4', DRAIN_TIMEOUT_MS: '10000' };
    const first = await start(env);
    await database.pool.query(`create table public.${table} (id int primary key)`);
    await query(first.url, 'create_event_trigger', {
      name: 'drain_graceful',
      table: { schema: 'public', name: table },
      webhook: webhook.url,
      insert: { columns: '*' },
      retry_conf: { num_retries: 2, interval_sec: 1, timeout_sec: 10 },
    });
    await database.pool.query(`insert into public.${table} select generate_series(1, 12)`);

    // The pool of 4 is full: 4 requests held by the webhook, the other 8 events claimed and queued. With
    // its pool full and nothing more to fetch, the daemon sleeps until NOTIFY, holding the wake lock.
    await eventually(() => webhook.inFlight() === 4, 15_000, '4 requests in flight');
    const inFlight = webhook.requests.map((r) => r.json.id as string);
    expect(inFlight).toHaveLength(4);
    await eventually(() => wakeLockHeld(database.pool, schema), 10_000, 'the daemon sleeping until NOTIFY (wake lock held)');

    first.child.kill(signal);
    const draining = await waitForLog(first, 'draining:');
    expect(draining.signal).toBe(signal);
    // The drain lets the wake lock go only once its fetch loop has ended: from then on no new delivery can
    // start. Only now may the held requests finish, so any request after these 4 would be the drain's fault.
    await eventually(async () => !(await wakeLockHeld(database.pool, schema)), 10_000, 'the draining daemon stopped fetching');
    expect(webhook.requests).toHaveLength(4);
    webhook.release();
    const exit = await first.exited;

    expect(exit).toEqual({ code: 0, signal: null });
    // It waited for the requests in flight (recorded below as delivered), not for the drain timeout.
    expect(first.lines.some((l) => l.includes('"msg":"pg-event-triggers stopped"'))).toBe(true);
    expect(first.lines.some((l) => l.includes('drain timeout'))).toBe(false);
    // Nothing new was sent once the drain began, and every request in flight was answered.
    expect(webhook.requests).toHaveLength(4);
    expect(webhook.inFlight()).toBe(0);

    const afterDrain = await eventRows(schema);
    expect(afterDrain).toHaveLength(12);
    for (const row of afterDrain) {
      const { id, row_id, locked_at, ...state } = row;
      if (inFlight.includes(id)) {
        // Finished and recorded during the drain: delivered, with its invocation log.
        expect(state, `row ${row_id}`).toEqual({ delivered: true, error: false, tries: 1, locked_by: null, logs: 1, ok_logs: 1 });
      } else {
        // Never started: still pending, untouched, and free for whoever comes next.
        expect(state, `row ${row_id}`).toEqual({ delivered: false, error: false, tries: 0, locked_by: null, logs: 0, ok_logs: 0 });
      }
      expect(locked_at, `row ${row_id}`).toBeNull();
    }
    expect(await lockedCount(schema)).toBe(0);
    const { rows: instances } = await database.pool.query(`select count(*)::int as n from ${schema}.instances`);
    expect(instances[0].n).toBe(0);

    // A new daemon delivers the 8 that never started, once each, and nothing delivered is sent again.
    webhook.respondWith(() => ({ status: 200, body: '{"ok":true}' }));
    const second = await start(env);
    await eventually(async () => (await eventRows(schema)).every((r) => r.delivered), 15_000, 'all 12 delivered');
    await new Promise((r) => setTimeout(r, 300));
    const ids = webhook.requests.map((r) => r.json.id as string);
    expect(ids).toHaveLength(12);
    expect(new Set(ids).size).toBe(12);
    expect(ids.slice(0, 4).sort()).toEqual([...inFlight].sort());
    for (const row of await eventRows(schema)) expect(row, `row ${row.row_id}`).toMatchObject({ tries: 1, logs: 1, ok_logs: 1 });
    expect((await second.kill('SIGTERM')).code).toBe(0);
    expect(await lockedCount(schema)).toBe(0);
  },
  45_000,
);

test('a webhook that hangs past DRAIN_TIMEOUT_MS: the daemon exits on time, releases the locks, and the next daemon delivers', async () => {
  const schema = 'drain_hang';
  const table = 'drain_hang_items';
  const DRAIN_TIMEOUT_MS = 1500;
  const TIMEOUT_SEC = 60;
  const webhook = await hook();
  webhook.hold(); // answers nothing until released, far longer than the drain timeout
  const env = { EVENT_TRIGGERS_SCHEMA: schema, EVENTS_HTTP_POOL_SIZE: '4', DRAIN_TIMEOUT_MS: String(DRAIN_TIMEOUT_MS) };
  const first = await start(env);
  await database.pool.query(`create table public.${table} (id int primary key)`);
  await query(first.url, 'create_event_trigger', {
    name: 'drain_hang',
    table: { schema: 'public', name: table },
    webhook: webhook.url,
    insert: { columns: '*' },
    // timeout_sec far beyond the drain timeout: only the drain can end these attempts.
    retry_conf: { num_retries: 0, interval_sec: 0, timeout_sec: TIMEOUT_SEC },
  });
  await database.pool.query(`insert into public.${table} values (1), (2)`);
  await eventually(() => webhook.inFlight() === 2, 15_000, '2 requests in flight');
  const abandoned = webhook.requests.map((r) => r.json.id as string);

  const exit = await first.kill('SIGTERM');
  expect(exit).toEqual({ code: 0, signal: null });
  // It gave the deliveries their chance, then gave up on them: timed on the daemon's own clock (its log
  // lines), from the signal to the warning. At least DRAIN_TIMEOUT_MS; and far less than timeout_sec,
  // which would have ended the attempts otherwise.
  const draining = await waitForLog(first, 'draining:', 0);
  const warning = await waitForLog(first, 'drain timeout: abandoning deliveries in flight', 0);
  expect(warning.abandoned).toBe(2);
  expect(warning.time - draining.time).toBeGreaterThanOrEqual(DRAIN_TIMEOUT_MS);
  expect(warning.time - draining.time).toBeLessThan((TIMEOUT_SEC * 1000) / 2);

  // The abandoned events are free again, neither delivered nor given up on.
  expect(await lockedCount(schema)).toBe(0);
  for (const row of await eventRows(schema)) {
    expect(row, `row ${row.row_id}`).toMatchObject({ delivered: false, error: false, locked_by: null, locked_at: null, ok_logs: 0 });
  }

  // The next daemon delivers them (at least once: the abandoned attempts reached the webhook already).
  webhook.release();
  webhook.respondWith(() => ({ status: 200, body: '{"ok":true}' }));
  const second = await start(env);
  await eventually(async () => (await eventRows(schema)).every((r) => r.delivered), 15_000, 'both delivered');
  for (const row of await eventRows(schema))
    expect(row, `row ${row.row_id}`).toMatchObject({ delivered: true, locked_by: null, ok_logs: 1 });
  for (const id of abandoned) expect(webhook.requests.filter((r) => r.json.id === id).length).toBeGreaterThanOrEqual(2);
  expect((await second.kill('SIGTERM')).code).toBe(0);
  expect(await lockedCount(schema)).toBe(0);
}, 45_000);
