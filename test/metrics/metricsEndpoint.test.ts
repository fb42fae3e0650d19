/**
 * GET /v1/metrics of a real daemon delivering to real webhooks, parsed as Prometheus text: Hasura's
 * event-trigger metrics (names, types, labels, buckets, and counts that match what the webhooks saw), the
 * daemon's own gauges (requests in flight, retries waited for in memory, the database pool) and the
 * database's (pending events and the oldest one's age, parked retries, circuit breakers, daemons alive).
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { eventually, openTestDatabase, startTestDaemon, type DaemonHarness } from '../support/daemonHarness.js';
import { scrapeMetrics, type Scrape } from '../support/metricsScrape.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhookReceiver.js';

const SOURCE = { source_name: 'default' };
const OK_BODY = '{"ok":"très bien"}';
const DOWN_BODY = 'down';
const CIRCUIT_THRESHOLD = 3;

let database: Awaited<ReturnType<typeof openTestDatabase>>;
let daemon: DaemonHarness;
const HOOKS = ['ok', 'refused', 'gone', 'retrying', 'later', 'broken', 'held'] as const;
const hooks: Record<(typeof HOOKS)[number], WebhookReceiver> = {} as never;
const metrics = (): Promise<Scrape> => scrapeMetrics(`${daemon.daemon.url}/v1/metrics`);

/** Scrapes until `check` holds, and returns that scrape. */
async function metricsWhen(check: (scrape: Scrape) => boolean): Promise<Scrape> {
  let last: Scrape | undefined;
  await eventually(async () => check((last = await metrics())), 15_000, 'the metrics');
  return last!;
}

beforeAll(async () => {
  database = await openTestDatabase();
  for (const name of HOOKS) {
    hooks[name] = await startWebhookReceiver();
    const status = name === 'ok' || name === 'held' ? 200 : name === 'gone' ? 410 : 500;
    hooks[name].respondWith(() => ({ status, body: status === 200 ? OK_BODY : DOWN_BODY }));
    await database.pool.query(`create table ${name}_rows (id int primary key)`);
  }
  daemon = await startTestDaemon(database.db.url, {
    env: {
      CIRCUIT_BREAKER_THRESHOLD: String(CIRCUIT_THRESHOLD),
      CIRCUIT_BREAKER_COOLDOWN_MS: '600000',
      CIRCUIT_BREAKER_MAX_COOLDOWN_MS: '600000',
    },
  });
  const retryConf = {
    ok: { num_retries: 0, interval_sec: 10 },
    held: { num_retries: 0, interval_sec: 10 },
    refused: { num_retries: 1, interval_sec: 0 },
    gone: { num_retries: 5, interval_sec: 0 },
    retrying: { num_retries: 5, interval_sec: 60 },
    later: { num_retries: 5, interval_sec: 7200 },
    broken: { num_retries: 100, interval_sec: 0 },
  };
  for (const [name, hook] of Object.entries(hooks)) {
    await daemon.query('create_event_trigger', {
      name,
      table: `${name}_rows`,
      webhook: hook.url,
      insert: { columns: '*' },
      retry_conf: retryConf[name as keyof typeof retryConf],
    });
  }
});
afterAll(async () => {
  await daemon?.stop();
  for (const hook of Object.values(hooks)) await hook?.close();
  await database?.close();
});

const insert = (table: string, count: number) =>
  database.pool.query(`insert into ${table}_rows select generate_series(1, $1::int)`, [count]);
const trigger = (name: string) => ({ trigger_name: name, ...SOURCE });
const count = async (sql: string) => Number((await database.pool.query(sql)).rows[0].n);

test("Hasura's event-trigger metrics: exact names, types, labels and buckets, counting what the webhooks saw", async () => {
  await insert('ok', 5);
  await insert('refused', 1);
  await insert('gone', 1);
  await hooks.ok.waitForRequests(5);
  await hooks.refused.waitForRequests(2);
  const delivered = (s: Scrape) => s.value('hasura_event_processed_total', { ...trigger('ok'), status: 'success' }) === 5;
  const gaveUp = (s: Scrape, name: string) => s.value('hasura_event_processed_total', { ...trigger(name), status: 'failed' }) === 1;
  const scrape = await metricsWhen((s) => delivered(s) && gaveUp(s, 'refused') && gaveUp(s, 'gone'));

  const types: Record<string, string> = {
    hasura_event_invocations_total: 'COUNTER',
    hasura_event_processed_total: 'COUNTER',
    hasura_event_processing_time_seconds: 'HISTOGRAM',
    hasura_event_queue_time_seconds: 'HISTOGRAM',
    hasura_event_webhook_processing_time_seconds: 'HISTOGRAM',
    hasura_event_fetch_time_per_batch_seconds: 'HISTOGRAM',
    hasura_events_fetched_per_batch: 'GAUGE',
    hasura_event_trigger_http_workers: 'GAUGE',
    hasura_event_trigger_request_bytes_total: 'COUNTER',
    hasura_event_trigger_response_bytes_total: 'COUNTER',
  };
  for (const [name, type] of Object.entries(types)) expect(scrape.families.get(name)?.type, name).toBe(type);

  // Every attempt is an invocation; an event is processed once, when delivered or given up.
  expect(scrape.value('hasura_event_invocations_total', { ...trigger('ok'), status: 'success' })).toBe(5);
  expect(scrape.value('hasura_event_invocations_total', { ...trigger('ok'), status: 'failed' })).toBe(0);
  expect(scrape.value('hasura_event_invocations_total', { ...trigger('refused'), status: 'failed' })).toBe(2);
  expect(scrape.value('hasura_event_invocations_total', { ...trigger('refused'), status: 'success' })).toBe(0);
  expect(scrape.value('hasura_event_processed_total', { ...trigger('refused'), status: 'success' })).toBe(0);
  // 410 Gone gives the event up at its first attempt: processed, failed.
  expect(scrape.value('hasura_event_invocations_total', { ...trigger('gone'), status: 'failed' })).toBe(1);
  expect(scrape.find('hasura_event_invocations_total', trigger('ok')).map((s) => Object.keys(s.labels).sort())).toEqual([
    ['source_name', 'status', 'trigger_name'],
    ['source_name', 'status', 'trigger_name'],
  ]);

  const processing = scrape.histogram('hasura_event_processing_time_seconds', trigger('ok'));
  expect(processing.buckets.map(([le]) => le)).toEqual(['0.01', '0.03', '0.1', '0.3', '1', '3', '10', '30', '100', '+Inf']);
  expect(processing.count).toBe(5);
  const queue = scrape.histogram('hasura_event_queue_time_seconds', trigger('ok'));
  expect(queue.buckets.map(([le]) => le)).toEqual(['0.01', '0.03', '0.1', '0.3', '1', '3', '10', '30', '100', '+Inf']);
  expect(queue.count).toBe(5);
  expect(scrape.histogram('hasura_event_queue_time_seconds', trigger('refused')).count).toBe(2);
  const webhook = scrape.histogram('hasura_event_webhook_processing_time_seconds', trigger('ok'));
  expect(webhook.buckets.map(([le]) => le)).toEqual(['0.01', '0.03', '0.1', '0.3', '1', '3', '10', '+Inf']);
  expect(webhook.count).toBe(5);
  // Only deliveries are timed end to end, as in Hasura.
  expect(scrape.find('hasura_event_webhook_processing_time_seconds_count', trigger('refused'))).toEqual([]);
  // A delivery's processing time holds its webhook time: it runs from when the event was due.
  expect(processing.sum).toBeGreaterThanOrEqual(webhook.sum);

  const fetch = scrape.histogram('hasura_event_fetch_time_per_batch_seconds');
  expect(fetch.buckets.map(([le]) => le)).toEqual([
    '0.0001',
    '0.0003',
    '0.001',
    '0.003',
    '0.01',
    '0.03',
    '0.1',
    '0.3',
    '1',
    '3',
    '10',
    '+Inf',
  ]);
  expect(fetch.count).toBeGreaterThanOrEqual(1);
  expect(scrape.value('hasura_events_fetched_per_batch')).toBeGreaterThanOrEqual(0);

  // Node's process metrics come along.
  for (const name of [
    'process_cpu_user_seconds_total',
    'process_resident_memory_bytes',
    'nodejs_heap_size_used_bytes',
    'nodejs_eventloop_lag_seconds',
  ]) {
    expect(scrape.families.has(name), name).toBe(true);
  }
  // Processing time counts from the event's creation: one written 1.5 s before its transaction commits
  // adds at least that much (created_at is the transaction's start).
  const client = await database.pool.connect();
  try {
    await client.query('begin');
    await client.query('insert into ok_rows values (100)');
    await client.query('select pg_sleep(1.5)');
    await client.query('commit');
  } finally {
    client.release();
  }
  const later = await metricsWhen((s) => s.value('hasura_event_processed_total', { ...trigger('ok'), status: 'success' }) === 6);
  const after = later.histogram('hasura_event_processing_time_seconds', trigger('ok'));
  expect(after.count).toBe(6);
  expect(after.sum - processing.sum).toBeGreaterThanOrEqual(1.5);
  expect(later.histogram('hasura_event_webhook_processing_time_seconds', trigger('ok')).sum - webhook.sum).toBeLessThan(1.5);

  // /metrics is the same registry.
  const other = await scrapeMetrics(`${daemon.daemon.url}/metrics`);
  expect(other.value('hasura_event_processed_total', { ...trigger('ok'), status: 'success' })).toBe(6);
});

test("this daemon's gauges: requests in flight, retries waited for in memory, HTTP workers, the pool", async () => {
  hooks.held.hold();
  await insert('held', 2);
  await insert('retrying', 2);
  await hooks.held.waitForRequests(2);
  await hooks.retrying.waitForRequests(2);
  const scrape = await metricsWhen((s) => s.value('pg_event_triggers_retry_waiting_events', trigger('retrying')) === 2);
  expect(scrape.value('pg_event_triggers_requests_in_flight', trigger('held'))).toBe(2);
  expect(scrape.value('hasura_event_trigger_http_workers')).toBe(2);
  // Every trigger is reported, with 0 when nothing is under way.
  expect(scrape.value('pg_event_triggers_requests_in_flight', trigger('ok'))).toBe(0);
  expect(scrape.value('pg_event_triggers_retry_waiting_events', trigger('ok'))).toBe(0);
  expect(scrape.value('pg_event_triggers_db_pool_max')).toBe(daemon.config.dbPoolSize);
  const busy = scrape.value('pg_event_triggers_db_pool_connections', { state: 'busy' });
  const idle = scrape.value('pg_event_triggers_db_pool_connections', { state: 'idle' });
  expect(busy + idle).toBeGreaterThanOrEqual(1);
  expect(busy + idle).toBeLessThanOrEqual(daemon.config.dbPoolSize);
  expect(scrape.value('pg_event_triggers_db_pool_waiting')).toBe(0);

  hooks.held.release();
  const after = await metricsWhen((s) => s.value('hasura_event_processed_total', { ...trigger('held'), status: 'success' }) === 2);
  expect(after.value('pg_event_triggers_requests_in_flight', trigger('held'))).toBe(0);
  expect(after.value('hasura_event_trigger_http_workers')).toBe(0);
});

test("the database's gauges: pending events and the oldest one's age, parked retries, circuits, daemons alive", async () => {
  // broken's endpoint fails until its circuit opens: its events then wait in the database, pending.
  await insert('broken', 8);
  // later's retry is due in two hours: parked in the database rather than waited for in memory.
  await insert('later', 1);
  await hooks.later.waitForRequests(1);
  let scrape = await metricsWhen(
    (s) =>
      s.value('pg_event_triggers_pending_events', trigger('broken')) === 8 &&
      s.value('pg_event_triggers_parked_retry_events', trigger('later')) === 1,
  );
  expect(scrape.families.get('pg_event_triggers_pending_events')?.help).toMatch(/same on every daemon/);
  expect(scrape.value('pg_event_triggers_circuit_state', { ...trigger('broken'), state: 'open' })).toBe(1);
  expect(scrape.value('pg_event_triggers_circuit_state', { ...trigger('broken'), state: 'closed' })).toBe(0);
  expect(scrape.value('pg_event_triggers_circuit_state', { ...trigger('broken'), state: 'half_open' })).toBe(0);
  expect(scrape.value('pg_event_triggers_circuit_state', { ...trigger('ok'), state: 'closed' })).toBe(1);
  expect(scrape.value('pg_event_triggers_pending_events', trigger('later'))).toBe(0);
  expect(scrape.value('pg_event_triggers_parked_retry_events', trigger('broken'))).toBe(0);
  expect(scrape.value('pg_event_triggers_pending_events', trigger('ok'))).toBe(0);
  expect(scrape.value('pg_event_triggers_oldest_pending_event_age_seconds', trigger('ok'))).toBe(0);
  expect(scrape.value('pg_event_triggers_daemons_alive')).toBe(1);
  expect(scrape.value('pg_event_triggers_database_up')).toBe(1);
  // The database agrees.
  expect(
    await count("select count(*) as n from event_triggers.event_log where trigger_name = 'broken' and locked_by is null and not delivered"),
  ).toBe(8);

  // The oldest pending event of broken fell due an hour ago.
  await database.pool.query("update event_triggers.event_log set next_retry_at = now() - interval '1 hour' where trigger_name = 'broken'");
  scrape = await metrics();
  const age = scrape.value('pg_event_triggers_oldest_pending_event_age_seconds', trigger('broken'));
  expect(age).toBeGreaterThanOrEqual(3600);
  expect(age).toBeLessThan(3660);

  // A deleted trigger leaves no series of the database's gauges behind.
  await daemon.query('delete_event_trigger', { name: 'later' });
  scrape = await metrics();
  expect(scrape.find('pg_event_triggers_parked_retry_events', trigger('later'))).toEqual([]);
  expect(scrape.find('pg_event_triggers_circuit_state', trigger('later'))).toEqual([]);
});

test('request and response bytes count every body sent and received', async () => {
  await metricsWhen((s) => s.value('hasura_event_trigger_http_workers') === 0);
  const receivers = Object.values(hooks);
  const sent = receivers.reduce((sum, hook) => sum + hook.requests.reduce((n, r) => n + Buffer.byteLength(r.text), 0), 0);
  const received = receivers.reduce(
    (sum, hook) => sum + hook.requests.length * Buffer.byteLength(hook === hooks.ok || hook === hooks.held ? OK_BODY : DOWN_BODY),
    0,
  );
  const scrape = await metrics();
  expect(scrape.value('hasura_event_trigger_request_bytes_total')).toBe(sent);
  expect(scrape.value('hasura_event_trigger_response_bytes_total')).toBe(received);
});
