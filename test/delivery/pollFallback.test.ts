/**
 * The fallback poll: when notifications are lost, events are still delivered, by the poll every
 * EVENTS_FETCH_INTERVAL. The loss is made real in the database: capture's enqueue_event() (migration 5),
 * which sends the NOTIFY, is replaced by the same function without its pg_notify, so no NOTIFY can ever reach the daemon;
 * a listener of the test's own confirms that none was sent.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { eventually, openTestDatabase, startTestDaemon, type DaemonHarness } from '../support/daemonHarness.js';
import { recordNotifications } from '../support/notifications.js';
import { wakeLockHeld } from '../support/reliability.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhookReceiver.js';

const POLL_MS = 1000;
const EVENTS = 5;

let database: Awaited<ReturnType<typeof openTestDatabase>>;
let daemon: DaemonHarness;
let hook: WebhookReceiver;

beforeAll(async () => {
  database = await openTestDatabase();
  hook = await startWebhookReceiver();
  daemon = await startTestDaemon(database.db.url, { env: { EVENTS_FETCH_INTERVAL: String(POLL_MS) } });
  await database.pool.query('create table quiet (id int primary key)');
  await daemon.query('create_event_trigger', { name: 'quiet', table: 'quiet', webhook: hook.url, insert: { columns: '*' } });
});
afterAll(async () => {
  await daemon?.stop();
  await hook?.close();
  await database?.close();
});

test('notifications lost: each event is still delivered by the poll', async () => {
  // The daemon is quiet: it sleeps until NOTIFY (holding the wake lock), polling every POLL_MS.
  await eventually(() => wakeLockHeld(database.pool), 10_000, 'the quiet daemon sleeping until NOTIFY');
  // Capture's enqueue_event (migration 5) sends the NOTIFY: the same function without its pg_notify.
  const { rows: defined } = await database.pool.query<{ sql: string }>(
    `select pg_get_functiondef('event_triggers.enqueue_event'::regproc) as sql`,
  );
  const silent = defined[0]!.sql.replace(/perform\s+pg_notify\([^;]*\);/gi, 'null;');
  expect(silent, 'enqueue_event sends its NOTIFY with PERFORM pg_notify(...)').not.toBe(defined[0]!.sql);
  await database.pool.query(silent);
  const listener = await database.pool.connect();
  const heard = recordNotifications(listener, 'event_triggers_events');
  await listener.query('listen event_triggers_events');
  try {
    // One transaction each, spread over more than one poll interval.
    for (let id = 1; id <= EVENTS; id++) {
      await database.pool.query('insert into quiet values ($1)', [id]);
      await new Promise((r) => setTimeout(r, POLL_MS / 4));
    }
    await hook.waitForRequests(EVENTS, 30 * POLL_MS);
    expect(hook.requests.map((r) => r.json.event.data.new.id).sort()).toEqual([1, 2, 3, 4, 5]);
    // No NOTIFY was sent for them: what delivered them was the poll.
    expect(await heard.settled(database.pool)).toEqual([]);
  } finally {
    await listener.query('unlisten *');
    heard.stop();
    listener.release();
  }
  // From commit to the attempt's outcome, on the database's clock: a poll interval and the delivery,
  // with ample room for a loaded machine (nothing else fetches new events: had the poll not run, they
  // would never have been delivered at all).
  await eventually(
    async () => {
      const { rows } = await database.pool.query(`select count(*)::int as n from event_triggers.event_log where delivered`);
      return rows[0].n === EVENTS;
    },
    10_000,
    'all recorded as delivered',
  );
  const { rows } = await database.pool.query(
    `select extract(epoch from l.created_at - e.created_at) * 1000 as ms
     from event_triggers.event_log e join event_triggers.event_invocation_logs l on l.event_id = e.id`,
  );
  expect(rows).toHaveLength(EVENTS);
  for (const { ms } of rows) expect(Number(ms)).toBeLessThan(10 * POLL_MS);
});
