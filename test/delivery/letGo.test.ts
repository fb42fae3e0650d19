/**
 * An actor that lets go of an event its daemon still holds hands it back in the database: unlocked, and
 * due again a minute later (releaser.ts). Before, the event stayed locked by a live daemon, which neither
 * a fetch nor a takeover touches, until that daemon restarted.
 *
 * The three ways to let go, each made real: a trigger that cannot be found (its catalog row deleted by
 * hand, so nothing archived its events); a resync that finds an event's trigger gone; an outcome the
 * database refuses even without its invocation log (a check constraint an operator added).
 */
import { afterAll, afterEach, beforeAll, beforeEach, expect, test } from 'vitest';
import { LET_GO_DELAY_MS } from '../../src/delivery/releaser.js';
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
  table = `let_go_${n}`;
  await database.pool.query(`create table ${table} (id int primary key)`);
  hook.requests.length = 0;
  hook.respondWith(() => ({ status: 200 }));
});
afterEach(() => hook.release());

async function createTrigger(retry = { num_retries: 0, interval_sec: 0, timeout_sec: 5 }) {
  await daemon.query('create_event_trigger', { name: table, table, webhook: hook.url, insert: { columns: '*' }, retry_conf: retry });
  return table;
}

/** The event, once handed back: unlocked, not settled, due about LET_GO_DELAY_MS from now. */
async function handedBack(): Promise<{ tries: number; due_in_s: number } | undefined> {
  const { rows } = await database.pool.query(
    `select tries, locked_by, delivered, error, extract(epoch from next_retry_at - now()) as due_in_s
     from event_triggers.event_log where trigger_name = $1`,
    [table],
  );
  const row = rows[0];
  if (!row || row.locked_by !== null || row.delivered || row.error || row.due_in_s === null) return undefined;
  return { tries: row.tries, due_in_s: Number(row.due_in_s) };
}

const delayS = LET_GO_DELAY_MS / 1000;

test('an event whose trigger cannot be found is handed back, due a minute later, with no attempt counted', async () => {
  // An event of a trigger no definition has: capture no longer writes such events (enqueue_event drops
  // them, migration 5), but one written before, or by hand, must neither stall nor loop.
  await database.pool.query(
    `insert into event_triggers.event_log (schema_name, table_name, trigger_name, payload)
     values ('public', $1, $1, '{"op": "INSERT", "data": {"old": null, "new": {"id": 1}}}')`,
    [table],
  );
  await database.pool.query(`notify event_triggers_events`);
  const back = (await eventually(handedBack, 15_000, 'the event handed back'))!;
  expect(back.tries).toBe(0);
  expect(back.due_in_s).toBeGreaterThan(delayS - 15);
  expect(back.due_in_s).toBeLessThanOrEqual(delayS);
  expect(hook.requests).toHaveLength(0);
});

test('a resync that finds the trigger of a waiting event gone hands the event back', async () => {
  const name = await createTrigger({ num_retries: 3, interval_sec: 600, timeout_sec: 5 });
  hook.respondWith(() => ({ status: 500 }));
  await database.pool.query(`insert into ${table} values (1)`);
  await hook.waitForRequests(1);
  const waiting = async () => {
    const { rows } = await database.pool.query('select id, locked_by from event_triggers.event_log where trigger_name = $1 and tries = 1', [
      name,
    ]);
    return rows[0]?.locked_by === daemon.daemon.instanceId && daemon.daemon.engine.eventState(rows[0].id) === 'idle';
  };
  await eventually(waiting, 10_000, 'the event waiting for its retry, held by the daemon');
  // Gone while this daemon's LISTEN connection was down (so no notification): it resyncs on reconnect.
  await database.pool.query('delete from event_triggers.event_triggers where name = $1', [name]);
  await daemon.daemon.engine.resync();
  const back = (await eventually(handedBack, 15_000, 'the event handed back'))!;
  expect(back.tries).toBe(1);
  // Its retry was due in ten minutes: handing it back does not bring that forward.
  expect(back.due_in_s).toBeGreaterThan(500);
});

test('an outcome the database refuses even without its log hands the event back', async () => {
  await createTrigger();
  // An operator's constraint that the verdict breaks: the batch, then the record alone, then the record
  // without its invocation log all fail on their data.
  await database.pool.query(
    `alter table event_triggers.event_log add constraint no_delivered_${n} check (not delivered or trigger_name <> '${table}')`,
  );
  try {
    await database.pool.query(`insert into ${table} values (1)`);
    await hook.waitForRequests(1);
    const back = (await eventually(handedBack, 15_000, 'the event handed back'))!;
    expect(back.tries).toBe(0);
    expect(back.due_in_s).toBeGreaterThan(delayS - 15);
  } finally {
    await database.pool.query(`alter table event_triggers.event_log drop constraint no_delivered_${n}`);
  }
});
