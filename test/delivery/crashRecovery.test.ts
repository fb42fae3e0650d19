/**
 * Kill the daemon (SIGKILL) while 5000 events are pending and some wait for a retry; start it again.
 * Every event is delivered, none is lost, and the waits resume at their time.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { request } from 'undici';
import { eventually, openTestDatabase } from '../support/daemonHarness.js';
import { spawnDaemon, type DaemonProcess } from '../support/daemonProcess.js';
import { waitForLog } from '../support/reliability.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhookReceiver.js';

let database: Awaited<ReturnType<typeof openTestDatabase>>;
let hook: WebhookReceiver;
let running: DaemonProcess | undefined;

const POOL = 16;
const RETRY_SEC = 4;
const HEARTBEAT_TIMEOUT_MS = 3000;
const env = () => ({
  DATABASE_URL: database.db.url,
  EVENTS_HTTP_POOL_SIZE: String(POOL),
  EVENTS_FETCH_BATCH_SIZE: '50',
  HEARTBEAT_TIMEOUT_MS: String(HEARTBEAT_TIMEOUT_MS),
});

beforeAll(async () => {
  database = await openTestDatabase();
  hook = await startWebhookReceiver();
});
afterAll(async () => {
  await running?.kill('SIGKILL');
  await hook?.close();
  await database?.close();
});

test('SIGKILL with 5000 events pending and some waiting for a retry: all delivered after restart', async () => {
  await database.pool.query('create table orders (id int primary key)');
  // Every 50th order fails its first attempt and waits RETRY_SEC for its retry; the rest succeed slowly
  // enough that the kill lands with most of the backlog still pending.
  const failedOnce = new Set<number>();
  hook.respondWith((req) => {
    const id = req.json.event.data.new.id as number;
    if (id % 50 === 0 && !failedOnce.has(id)) {
      failedOnce.add(id);
      return { status: 503 };
    }
    return { status: 200, delayMs: 5 };
  });

  running = await spawnDaemon(env());
  const created = await request(`${running.url}/v1/query`, {
    method: 'POST',
    body: JSON.stringify({
      type: 'create_event_trigger',
      args: {
        name: 'orders',
        table: 'orders',
        webhook: hook.url,
        insert: { columns: '*' },
        retry_conf: { num_retries: 3, interval_sec: RETRY_SEC, timeout_sec: 10 },
      },
    }),
  });
  expect(created.statusCode).toBe(200);
  await created.body.dump();
  await database.pool.query('insert into orders select generate_series(1, 5000)');

  // Wait until a good share has gone out and some events sit in retryWait, held by this daemon.
  const waiting = await eventually(
    async () => {
      const { rows } = await database.pool.query(
        `select id, next_retry_at from event_triggers.event_log
       where next_retry_at > now() and locked_by is not null and not delivered`,
      );
      return hook.requests.length > 1000 && rows.length >= 5 ? rows : undefined;
    },
    30_000,
    'events waiting for a retry',
  );
  const pendingAtKill = (await database.pool.query('select count(*)::int as n from event_triggers.event_log where not delivered')).rows[0]
    .n;
  await running.kill('SIGKILL');
  expect(pendingAtKill).toBeGreaterThan(1000);

  running = await spawnDaemon(env());
  // When the new daemon was up, on its own clock (its boot time is no part of what is measured below).
  const runningAtMs = (await waitForLog(running, 'pg-event-triggers is running', 0)).time;
  await eventually(
    async () => {
      const { rows } = await database.pool.query('select count(*)::int as n from event_triggers.event_log where delivered');
      return rows[0].n === 5000;
    },
    60_000,
    'all 5000 delivered',
  );

  // None lost: every order reached the webhook with a 2xx at least once.
  const succeeded = new Map<number, number>();
  for (const r of hook.requests) {
    const id = r.json.event.data.new.id as number;
    const failed = id % 50 === 0 && r === hook.requests.find((x) => x.json.event.data.new.id === id);
    if (!failed) succeeded.set(id, (succeeded.get(id) ?? 0) + 1);
  }
  expect(succeeded.size).toBe(5000);
  // Duplicates only where the kill made them unavoidable: deliveries in flight (or not yet recorded).
  const duplicates = [...succeeded.values()].filter((n) => n > 1).length;
  expect(duplicates).toBeLessThanOrEqual(POOL * 2);

  // The waits resumed at their time: not before next_retry_at, and not long after it, or after the new
  // daemon was running if that was later. "Long" is measured on the database's clock (when the retry's
  // outcome was written), not by when the busy test process got to the request: the new daemon takes
  // the dead one's events over at once or within a lapse (a third of HEARTBEAT_TIMEOUT_MS) and a
  // takeover check, so a whole HEARTBEAT_TIMEOUT_MS is the bound, twice over for a loaded machine.
  for (const { id, next_retry_at } of waiting!) {
    const { rows } = await database.pool.query(
      `select (e.payload->'data'->'new'->>'id')::int as order_id,
              (select extract(epoch from max(l.created_at))::float8 * 1000 from event_triggers.event_invocation_logs l
               where l.event_id = e.id and l.status = 200) as delivered_ms
       from event_triggers.event_log e where e.id = $1`,
      [id],
    );
    const orderId = Number(rows[0].order_id);
    const retry = hook.requests.filter((r) => r.json.event.data.new.id === orderId).at(-1)!;
    const due = new Date(next_retry_at).getTime();
    expect(retry.at).toBeGreaterThanOrEqual(due - 50);
    expect(rows[0].delivered_ms - Math.max(due, runningAtMs)).toBeLessThan(2 * HEARTBEAT_TIMEOUT_MS);
  }
  const { rows } = await database.pool.query('select count(*)::int as n from event_triggers.event_log where locked_by is not null');
  expect(rows[0].n).toBe(0);
}, 120_000);
