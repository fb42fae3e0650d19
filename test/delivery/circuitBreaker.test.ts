/**
 * Circuit breaking per endpoint, with two daemons sharing the database: after a run of failures the
 * circuit opens for every daemon; its events wait in the database without counting attempts; after the
 * cool-down one probe goes out; a failed probe doubles the cool-down, a successful one closes the circuit
 * and the backlog is delivered. Meanwhile another trigger's events are delivered as usual.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { eventually, openTestDatabase, startTestDaemon, type DaemonHarness } from '../support/daemonHarness.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhookReceiver.js';

const THRESHOLD = 5;
const COOLDOWN_MS = 1500;
const env = {
  CIRCUIT_BREAKER_THRESHOLD: String(THRESHOLD),
  CIRCUIT_BREAKER_COOLDOWN_MS: String(COOLDOWN_MS),
  CIRCUIT_BREAKER_MAX_COOLDOWN_MS: '20000',
  EVENTS_HTTP_POOL_SIZE: '2',
  EVENTS_FETCH_BATCH_SIZE: '10',
};

let database: Awaited<ReturnType<typeof openTestDatabase>>;
let daemons: DaemonHarness[] = [];
let failing: WebhookReceiver;
let healthy: WebhookReceiver;

beforeAll(async () => {
  database = await openTestDatabase();
  failing = await startWebhookReceiver();
  healthy = await startWebhookReceiver();
  daemons = [await startTestDaemon(database.db.url, { env }), await startTestDaemon(database.db.url, { env })];
  await database.pool.query('create table orders (id int primary key)');
  await database.pool.query('create table payments (id int primary key)');
  await daemons[0]!.query('create_event_trigger', {
    name: 'orders',
    table: 'orders',
    webhook: failing.url,
    insert: { columns: '*' },
    retry_conf: { num_retries: 100, interval_sec: 0, timeout_sec: 5 },
  });
  await daemons[0]!.query('create_event_trigger', { name: 'payments', table: 'payments', webhook: healthy.url, insert: { columns: '*' } });
});
afterAll(async () => {
  await Promise.all(daemons.map((d) => d.stop()));
  await failing?.close();
  await healthy?.close();
  await database?.close();
});

const circuitOf = async (daemon: DaemonHarness) =>
  ((await daemon.query('get_flow_control_state', { name: 'orders' })) as { triggers: Array<{ circuit: Record<string, any> }> }).triggers[0]!
    .circuit;

const totalTries = async () =>
  Number((await database.pool.query("select sum(tries)::int as n from event_triggers.event_log where trigger_name = 'orders'")).rows[0].n);

test('fast 500s open the circuit for every daemon; the events wait uncounted; probes double the cool-down until one succeeds', async () => {
  failing.respondWith(() => ({ status: 500, body: 'down' }));
  await database.pool.query('insert into orders select generate_series(1, 40)');

  // Opened after a run of failures, seen alike through both daemons' API.
  const opened = (await eventually(
    async () => {
      const c = await circuitOf(daemons[1]!);
      return c.state === 'open' ? c : undefined;
    },
    10_000,
    'the circuit open',
  ))!;
  expect(opened.openings).toBe(1);
  expect(opened.reason).toMatch(/HTTP 500/);
  expect(Date.parse(opened.open_until)).toBeGreaterThan(Date.now());
  expect(await circuitOf(daemons[0]!)).toMatchObject({ state: 'open', open_until: opened.open_until });

  // Each daemon counts its own failures in a row, and the first to reach the threshold opens the circuit
  // for both: the other may have sent up to threshold - 1 of its own, plus what each had in flight or
  // queued for a slot (the pool: 2) before the news reached it. Then nothing is sent, no try counted.
  await new Promise((r) => setTimeout(r, 300));
  const sentWhileOpen = failing.requests.length;
  expect(sentWhileOpen).toBeGreaterThanOrEqual(THRESHOLD);
  expect(sentWhileOpen).toBeLessThanOrEqual(2 * (THRESHOLD + 2 * 2));
  expect(await totalTries()).toBe(sentWhileOpen);
  // The other trigger is not held up.
  await database.pool.query('insert into payments values (1)');
  await healthy.waitForRequests(1, 2000);
  expect(failing.requests.length).toBe(sentWhileOpen);
  // The paused events wait in the database: no daemon holds them.
  const held = await database.pool.query(
    "select count(*)::int as n from event_triggers.event_log where trigger_name = 'orders' and locked_by is not null",
  );
  expect(held.rows[0].n).toBe(0);

  // After the cool-down exactly one probe, by one daemon; it fails, so the cool-down doubles.
  await failing.waitForRequests(sentWhileOpen + 1, COOLDOWN_MS + 5000);
  const reopened = (await eventually(
    async () => {
      const c = await circuitOf(daemons[0]!);
      return c.openings === 2 ? c : undefined;
    },
    5000,
    'opened a second time',
  ))!;
  const secondCooldown = Date.parse(reopened.open_until) - Date.now();
  expect(secondCooldown).toBeGreaterThan(COOLDOWN_MS * 2 - 1000);
  expect(secondCooldown).toBeLessThanOrEqual(COOLDOWN_MS * 2);
  await new Promise((r) => setTimeout(r, 500));
  expect(failing.requests.length).toBe(sentWhileOpen + 1);

  // The endpoint is back: the next probe succeeds, the circuit closes, and the backlog is delivered once.
  failing.respondWith(() => ({ status: 200 }));
  await eventually(async () => (await circuitOf(daemons[1]!)).state === 'closed', COOLDOWN_MS * 2 + 5000, 'the circuit closed');
  await eventually(
    async () =>
      (await database.pool.query("select count(*)::int as n from event_triggers.event_log where trigger_name = 'orders' and delivered"))
        .rows[0].n === 40,
    10_000,
    'every order delivered',
  );
  const delivered = new Set(failing.requests.filter((_, i) => i > sentWhileOpen).map((r) => r.json.id as string));
  expect(delivered.size).toBe(40);
  // Every attempt the endpoint saw was counted once, and no other.
  expect(await totalTries()).toBe(failing.requests.length);
}, 60_000);

test('get_flow_control_state: every trigger by default; an unknown trigger or key is refused', async () => {
  const all = (await daemons[0]!.query('get_flow_control_state', {})) as { triggers: Array<{ name: string; circuit: { state: string } }> };
  expect(all.triggers.map((t) => t.name)).toEqual(['orders', 'payments']);
  expect(all.triggers.find((t) => t.name === 'payments')).toMatchObject({
    endpoint: healthy.url,
    circuit: { state: 'closed', open_until: null, openings: 0, reason: null, consecutive_failures: 0 },
    in_flight: 0,
    flow_control: null,
  });
  expect(await daemons[0]!.tryQuery('get_flow_control_state', { name: 'nope' })).toEqual({
    status: 400,
    json: { code: 'not-exists', path: '$.args', error: 'event trigger "nope" does not exist' },
  });
  expect((await daemons[0]!.tryQuery('get_flow_control_state', { nme: 'orders' })).json).toMatchObject({
    code: 'parse-failed',
    path: '$.args',
  });
});
