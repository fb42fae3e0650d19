/**
 * redeliver_event racing an attempt in flight, on a real daemon and PostgreSQL, in the ordering that used
 * to lose the redelivery: the reset commits while the attempt is under way, and the attempt's verdict is
 * written after it. The test runs the operation itself (src/api/operations/events.ts), in a transaction
 * it commits only once the daemon's attempt is waiting on the row lock the operation holds: the recorder's
 * write then sees the reset, as it would a moment later by chance.
 *
 * Before the generation counter, that write put its verdict over the reset (here: error, lock released)
 * and the daemon's next attempt was refused for want of the lock: the event stayed `error`.
 */
import type pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, expect, test } from 'vitest';
import { createOperationContext, type OperationContext } from '../../src/api/operations/context.js';
import { redeliverEvent } from '../../src/api/operations/events.js';
import { eventually, openTestDatabase, startTestDaemon, type DaemonHarness } from '../support/daemonHarness.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhookReceiver.js';

let database: Awaited<ReturnType<typeof openTestDatabase>>;
let daemon: DaemonHarness;
let hook: WebhookReceiver;
let n = 0;
let table: string;

beforeAll(async () => {
  database = await openTestDatabase();
  hook = await startWebhookReceiver();
  daemon = await startTestDaemon(database.db.url);
});
afterAll(async () => {
  await daemon?.stop();
  await hook?.close();
  await database?.close();
});
beforeEach(async () => {
  n += 1;
  table = `race_${n}`;
  await database.pool.query(`create table ${table} (id int primary key)`);
  hook.requests.length = 0;
});

function context(withEngine: boolean): OperationContext {
  return createOperationContext({
    pool: database.pool,
    schema: 'event_triggers',
    sourceName: 'default',
    heartbeatTimeoutMs: daemon.config.heartbeatTimeoutMs,
    log: pino({ level: 'silent' }),
    // Without the engine, the operation runs as on another daemon: the event's holder is told by NOTIFY.
    ...(withEngine ? { engine: daemon.daemon.engine } : {}),
  });
}

async function eventRow(id: string) {
  const { rows } = await database.pool.query(
    'select tries, delivered, error, locked_by, next_retry_at, redeliveries from event_triggers.event_log where id = $1',
    [id],
  );
  return rows[0];
}

/** Statements of other sessions waiting for a lock that `client`'s transaction holds. */
async function blockedBy(client: pg.PoolClient): Promise<number> {
  const pid = (await client.query('select pg_backend_pid() as pid')).rows[0].pid;
  const { rows } = await database.pool.query('select count(*)::int as n from pg_stat_activity where $1 = any(pg_blocking_pids(pid))', [
    pid,
  ]);
  return rows[0].n;
}

for (const where of ['on the daemon that holds the event', 'on another daemon (the holder told by NOTIFY)'] as const) {
  test(`a redelivery committed while an attempt is in flight is not lost: ${where}`, async () => {
    // Two attempts that fail (the second is the last: error), then success.
    hook.respondWith((_req, i) => ({ status: i < 2 ? 500 : 200 }));
    await daemon.query('create_event_trigger', {
      name: table,
      table,
      webhook: hook.url,
      insert: { columns: '*' },
      // Long enough for the reset to be made while the event waits; short enough for the test.
      retry_conf: { num_retries: 1, interval_sec: 4, timeout_sec: 5 },
    });
    await database.pool.query(`insert into ${table} values (1)`);
    const [first] = await hook.waitForRequests(1);
    const id: string = first!.json.id;
    await eventually(
      async () => (await eventRow(id))?.next_retry_at && daemon.daemon.engine.eventState(id) === 'idle',
      10_000,
      'the first attempt recorded, the event waiting for its retry',
    );

    const client = await database.pool.connect();
    const afterCommit: Array<() => void> = [];
    try {
      await client.query('begin');
      const tx = { client, afterCommit: (fn: () => void) => afterCommit.push(fn) };
      expect(await redeliverEvent(context(where.startsWith('on the daemon')), tx, { event_id: id })).toEqual({ message: 'success' });
      // The retry falls due meanwhile: the second attempt is made and its verdict waits for the row.
      await hook.waitForRequests(2, 15_000);
      await eventually(() => blockedBy(client).then((count) => count > 0), 15_000, "the attempt's write waiting for the reset");
      await client.query('commit');
    } catch (error) {
      await client.query('rollback').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
    for (const fn of afterCommit) fn();

    const row = await eventually(
      async () => {
        const r = await eventRow(id);
        return r?.delivered ? r : undefined;
      },
      15_000,
      'the event delivered again',
    );
    expect(row).toMatchObject({ delivered: true, error: false, tries: 1, locked_by: null, redeliveries: 1 });
    // The attempt the redelivery overtook counted for nothing; the one after it started over.
    expect(hook.requests.map((r) => r.json.delivery_info.current_retry)).toEqual([0, 1, 0]);
    const logs = await database.pool.query(
      'select status from event_triggers.event_invocation_logs where event_id = $1 order by created_at',
      [id],
    );
    expect(logs.rows.map((r) => r.status)).toEqual([500, 500, 200]);
  });
}
