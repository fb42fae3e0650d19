/**
 * INVOCATION_LOGS=false: events are delivered, retried and judged exactly as with logs on, and no
 * invocation log is written.
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
  daemon = await startTestDaemon(database.db.url, { env: { INVOCATION_LOGS: 'false', CIRCUIT_BREAKER_THRESHOLD: '0' } });
  await database.pool.query('create table public.quiet (id bigint primary key, fail boolean not null)');
});
afterAll(async () => {
  await daemon?.stop();
  await hook?.close();
  await database?.close();
});

test('events are delivered and given up as with logs on, and no invocation log is written', async () => {
  hook.respondWith((req) => {
    const row = (req.json as { event: { data: { new: { fail: boolean } } } }).event.data.new;
    return row.fail ? { status: 500, body: 'no' } : { status: 200, body: 'ok' };
  });
  expect(
    await daemon.query('create_event_trigger', {
      name: 'quiet',
      table: { schema: 'public', name: 'quiet' },
      webhook: hook.url,
      insert: { columns: '*' },
      retry_conf: { num_retries: 1, interval_sec: 0, timeout_sec: 5 },
    }),
  ).toEqual({ message: 'success' });
  await database.pool.query('insert into public.quiet select i, i % 4 = 0 from generate_series(1, 20) i');

  const settled = await eventually(async () => {
    const { rows } = await database.pool.query<{ delivered: number; failed: number; tries: number }>(
      `select count(*) filter (where delivered)::int as delivered, count(*) filter (where error)::int as failed,
              sum(tries)::int as tries
       from event_triggers.event_log where trigger_name = 'quiet'`,
    );
    return rows[0]!.delivered + rows[0]!.failed === 20 ? rows[0] : undefined;
  });
  // 15 delivered at the first attempt; 5 failed twice (num_retries 1) and were given up.
  expect(settled).toEqual({ delivered: 15, failed: 5, tries: 15 + 5 * 2 });
  expect(hook.requests).toHaveLength(25);
  const { rows } = await database.pool.query('select count(*)::int as n from event_triggers.event_invocation_logs');
  expect(rows[0]).toEqual({ n: 0 });
});
