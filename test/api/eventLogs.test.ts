/**
 * get_event_logs, get_event_invocation_logs and get_event_by_id as Hasura answers them, with a real daemon
 * delivering to a real webhook: invocation logs carry http_status (Hasura's EventInvocationLog), every
 * timestamp is UTC with Z whatever the session's TimeZone, and status "all" includes archived events.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { eventually, openTestDatabase, startTestDaemon, type DaemonHarness } from '../support/daemonHarness.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhookReceiver.js';

let database: Awaited<ReturnType<typeof openTestDatabase>>;
let daemon: DaemonHarness;
let hook: WebhookReceiver;

/** ISO-8601 in UTC with microseconds and Z, as in the payload's created_at. */
const UTC_TIMESTAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;

beforeAll(async () => {
  database = await openTestDatabase();
  // Every new session of the daemon's pool gets a zone far from UTC: a timestamptz rendered by
  // PostgreSQL's own JSON would read "+05:30" here.
  const { rows } = await database.pool.query('select current_database() as db');
  await database.pool.query(`alter database "${rows[0].db}" set timezone = 'Asia/Kolkata'`);
  hook = await startWebhookReceiver();
  daemon = await startTestDaemon(database.db.url);
  await database.pool.query('create table public.orders (id int primary key, note text)');
});
afterAll(async () => {
  await daemon?.stop();
  await hook?.close();
  await database?.close();
});

const trigger = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  table: 'orders',
  webhook: hook.url,
  insert: { columns: '*' },
  ...extra,
});

describe('invocation logs', () => {
  test('carry http_status (and status) in get_event_invocation_logs and get_event_by_id', async () => {
    hook.respondWith(() => ({ status: 201, body: '{"ok":true}' }));
    await daemon.query('create_event_trigger', trigger('logged'));
    await database.pool.query(`insert into orders values (1, 'a')`);
    const [received] = await hook.waitForRequests(1);
    const eventId = received!.json.id as string;
    const logs = await eventually(
      async () => {
        const answer = await daemon.query('get_event_invocation_logs', { name: 'logged' });
        return answer.length ? answer : undefined;
      },
      10_000,
      'the invocation log',
    );
    expect(logs).toHaveLength(1);
    expect(Object.keys(logs[0]).sort()).toEqual([
      'created_at',
      'duration_ms',
      'event_id',
      'http_status',
      'id',
      'request',
      'response',
      'status',
      'trigger_name',
    ]);
    expect(logs[0]).toMatchObject({ event_id: eventId, trigger_name: 'logged', http_status: 201, status: 201 });
    expect(logs[0].created_at).toMatch(UTC_TIMESTAMP);
    // The attempt's duration (migration 6), in whole milliseconds.
    expect(Number.isInteger(logs[0].duration_ms) && logs[0].duration_ms >= 0).toBe(true);

    const byId = await daemon.query('get_event_by_id', { event_id: eventId });
    expect(byId.invocations).toEqual(logs);
    expect(byId.event).toMatchObject({ id: eventId, delivered: true, locked: null, next_retry_at: null });
    expect(byId.event.created_at).toMatch(UTC_TIMESTAMP);
  });

  test('a client error (no response) has http_status null', async () => {
    await daemon.query('create_event_trigger', trigger('unreachable', { webhook: 'http://127.0.0.1:9/nothing' }));
    await database.pool.query(`insert into orders values (2, 'b')`);
    const { rows } = await database.pool.query(`select id from event_triggers.event_log where trigger_name = 'unreachable'`);
    const id = rows[0].id as string;
    const byId = await eventually(
      async () => {
        const answer = await daemon.query('get_event_by_id', { event_id: id });
        return answer.invocations.length ? answer : undefined;
      },
      10_000,
      'the failed attempt',
    );
    expect(byId.invocations[0]).toMatchObject({ http_status: null, status: null, response: { type: 'client_error' } });
  });
});

describe('timestamps', () => {
  test('created_at, next_retry_at and locked are UTC with Z, and agree with the database', async () => {
    hook.respondWith(() => ({ status: 500 }));
    await daemon.query('create_event_trigger', trigger('retrying', { retry_conf: { num_retries: 3, interval_sec: 60, timeout_sec: 5 } }));
    await database.pool.query(`insert into orders values (3, 'c')`);
    const event = await eventually(
      async () => {
        const [e] = await daemon.query('get_event_logs', { name: 'retrying' });
        return e?.next_retry_at ? e : undefined;
      },
      10_000,
      'a retry to be scheduled',
    );
    // The event waits for its retry in this daemon, which holds it: locked is when it was claimed.
    expect(event).toMatchObject({ status: 'retrying', tries: 1 });
    for (const key of ['created_at', 'next_retry_at', 'locked'] as const) expect(event[key], key).toMatch(UTC_TIMESTAMP);
    const { rows } = await database.pool.query(`select created_at, next_retry_at, locked_at from event_triggers.event_log where id = $1`, [
      event.id,
    ]);
    expect(new Date(event.created_at).getTime()).toBe(rows[0].created_at.getTime());
    expect(new Date(event.next_retry_at).getTime()).toBe(rows[0].next_retry_at.getTime());
    expect(new Date(event.locked).getTime()).toBe(rows[0].locked_at.getTime());
    await daemon.query('delete_event_trigger', { name: 'retrying' });
  });
});

describe('get_event_logs status', () => {
  test('"all" includes archived events, "pending" and "processed" leave them out (as Hasura)', async () => {
    hook.respondWith(() => ({ status: 200 }));
    await daemon.query('create_event_trigger', trigger('archiving'));
    await database.pool.query(`insert into orders values (10, 'old')`);
    await eventually(
      async () => (await daemon.query('get_event_logs', { name: 'archiving', status: 'processed' })).length === 1,
      10_000,
      'delivery',
    );
    // Deleting archives the trigger's events; the same name created again sees them under "all".
    await daemon.query('delete_event_trigger', { name: 'archiving' });
    await daemon.query('create_event_trigger', trigger('archiving', { enable_manual: true }));
    hook.hold();
    try {
      const { event_id: pendingId } = await daemon.query('invoke_event_trigger', { name: 'archiving', payload: { n: 1 } });
      const all = await daemon.query('get_event_logs', { name: 'archiving', status: 'all' });
      expect(all.map((e: { archived: boolean; status: string }) => [e.archived, e.status])).toEqual([
        [false, expect.stringMatching(/^(pending|retrying)$/)],
        [true, 'archived'],
      ]);
      expect(all[0].id).toBe(pendingId);
      const byDefault = await daemon.query('get_event_logs', { name: 'archiving' });
      expect(byDefault).toHaveLength(2);
      expect(await daemon.query('get_event_logs', { name: 'archiving', status: 'processed' })).toEqual([]);
      const pending = await daemon.query('get_event_logs', { name: 'archiving', status: 'pending' });
      expect(pending.map((e: { id: string }) => e.id)).toEqual([pendingId]);
    } finally {
      hook.release();
    }
  });
});
