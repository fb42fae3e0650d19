/**
 * End to end: a real daemon, a real PostgreSQL, a real webhook. Each event reaches the webhook with the
 * exact payload of the spec, is retried as retry_conf says, and is recorded.
 */
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { eventually, openTestDatabase, startTestDaemon, type DaemonHarness } from '../support/daemonHarness.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhookReceiver.js';

let database: Awaited<ReturnType<typeof openTestDatabase>>;
let daemon: DaemonHarness;
let hook: WebhookReceiver;
const env = { ORDERS_HOOK: '', HOOK_TOKEN: 'secret-token-value' };

beforeAll(async () => {
  database = await openTestDatabase();
  hook = await startWebhookReceiver();
  env.ORDERS_HOOK = hook.url;
  // A long poll interval: deliveries below can only be this fast because NOTIFY wakes the daemon.
  // retry_conf on its own: these tests fail one webhook many times in a row, which would open its circuit
  // (flow control is tested in flowControl.test.ts).
  daemon = await startTestDaemon(database.db.url, {
    env: { EVENTS_FETCH_INTERVAL: '60000', CIRCUIT_BREAKER_THRESHOLD: '0' },
    processEnv: env,
  });
});
afterAll(async () => {
  await daemon?.stop();
  await hook?.close();
  await database?.close();
});

let table: string;
let n = 0;
beforeEach(async () => {
  n += 1;
  table = `items_${n}`;
  await database.pool.query(`create table public.${table} (id bigint primary key, name text, price numeric, tags text[])`);
  hook.requests.length = 0;
  hook.respondWith(() => ({ status: 200, body: '{"ok":true}' }));
});
afterEach(() => hook.release());

async function createTrigger(args: Record<string, unknown>) {
  const res = await daemon.query('create_event_trigger', {
    name: `t_${n}`,
    table: { schema: 'public', name: table },
    webhook: hook.url,
    insert: { columns: '*' },
    update: { columns: '*' },
    delete: { columns: '*' },
    ...args,
  });
  expect(res).toEqual({ message: 'success' });
  return `t_${n}`;
}

async function eventRow(id: string) {
  const { rows } = await database.pool.query(
    'select tries, delivered, error, locked_by, next_retry_at from event_triggers.event_log where id = $1',
    [id],
  );
  return rows[0];
}

describe('delivery', () => {
  test('insert, update and delete each reach the webhook once, with the exact payload', async () => {
    const name = await createTrigger({});
    const { rows } = await database.pool.query('select id from event_triggers.event_triggers where name = $1', [name]);
    const triggerId = rows[0].id;
    await database.pool.query(`insert into ${table} values (50755254975729665, 'apple', 1.50, '{a,b}')`);
    await database.pool.query(`update ${table} set price = 2 where id = 50755254975729665`);
    await database.pool.query(`delete from ${table}`);
    const received = await hook.waitForRequests(3);
    const byOp = Object.fromEntries(received.map((r) => [r.json.event.op, r]));

    const insert = byOp.INSERT!;
    expect(insert.method).toBe('POST');
    expect(insert.headers['content-type']).toBe('application/json');
    expect(Object.keys(insert.json)).toEqual(['id', 'created_at', 'trigger', 'table', 'event', 'delivery_info']);
    expect(insert.json.trigger).toEqual({ name, id: triggerId });
    expect(insert.json.table).toEqual({ schema: 'public', name: table });
    expect(insert.json.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    expect(insert.json.delivery_info).toEqual({ max_retries: 0, current_retry: 0 });
    expect(insert.json.event.data.old).toBeNull();
    // Hasura's keys, null when the writer set no hasura.user / hasura.tracecontext.
    expect(Object.keys(insert.json.event).sort()).toEqual(['data', 'op', 'session_variables', 'trace_context']);
    expect(insert.json.event.session_variables).toBeNull();
    expect(insert.json.event.trace_context).toBeNull();
    // The bigint arrives as PostgreSQL wrote it, not rounded to 50755254975729660.
    expect(insert.text).toContain('"id": 50755254975729665');
    expect(insert.text).toContain('"price": 1.50');
    expect(insert.json.event.data.new.tags).toEqual(['a', 'b']);

    const update = byOp.UPDATE!;
    expect(update.text).toContain('"price": 2');
    expect(update.json.event.data.old.name).toBe('apple');
    const del = byOp.DELETE!;
    expect(del.json.event.data.new).toBeNull();
    expect(del.json.event.data.old.name).toBe('apple');

    await eventually(async () => (await eventRow(insert.json.id))?.delivered, 5000, 'delivered recorded');
    expect(await eventRow(insert.json.id)).toMatchObject({ tries: 1, delivered: true, error: false, locked_by: null });
    await new Promise((r) => setTimeout(r, 300));
    expect(hook.requests).toHaveLength(3);
  });

  test('a failing webhook gets exactly num_retries + 1 attempts, current_retry counting up', async () => {
    await createTrigger({ retry_conf: { num_retries: 2, interval_sec: 0, timeout_sec: 5 } });
    hook.respondWith(() => ({ status: 500, body: 'boom' }));
    await database.pool.query(`insert into ${table} values (1, 'x', 1, null)`);
    const received = await hook.waitForRequests(3);
    const id = received[0]!.json.id;
    await eventually(async () => (await eventRow(id))?.error, 5000, 'error recorded');
    await new Promise((r) => setTimeout(r, 500));
    expect(hook.requests.map((r) => r.json.delivery_info)).toEqual([
      { max_retries: 2, current_retry: 0 },
      { max_retries: 2, current_retry: 1 },
      { max_retries: 2, current_retry: 2 },
    ]);
    expect(await eventRow(id)).toMatchObject({ tries: 3, delivered: false, error: true, locked_by: null });
    const logs = await database.pool.query(
      "select status, response->>'type' as type, response->'data'->>'message' as message from event_triggers.event_invocation_logs where event_id = $1",
      [id],
    );
    // As Hasura logs a status that is not 2xx: a client_error whose message is the body.
    expect(logs.rows).toEqual(Array(3).fill({ status: 500, type: 'client_error', message: 'boom' }));
    const durations = await database.pool.query<{ duration_ms: number | null }>(
      'select duration_ms from event_triggers.event_invocation_logs where event_id = $1',
      [id],
    );
    for (const { duration_ms } of durations.rows) expect(duration_ms).toBeGreaterThanOrEqual(0);
  });

  test('410 Gone stops retrying at once: one attempt, then error, whatever num_retries says', async () => {
    await createTrigger({ retry_conf: { num_retries: 5, interval_sec: 0, timeout_sec: 5 } });
    hook.respondWith(() => ({ status: 410, body: 'unsubscribed' }));
    await database.pool.query(`insert into ${table} values (1, 'x', 1, null)`);
    const [first] = await hook.waitForRequests(1);
    await eventually(async () => (await eventRow(first!.json.id))?.error, 5000, 'error');
    await new Promise((r) => setTimeout(r, 300));
    expect(hook.requests).toHaveLength(1);
    expect(await eventRow(first!.json.id)).toMatchObject({ tries: 1, delivered: false, error: true, locked_by: null });
  });

  test('429 without Retry-After slows down: a fixed interval doubles with each retry', async () => {
    await createTrigger({ retry_conf: { num_retries: 2, interval_sec: 1, timeout_sec: 5 } });
    hook.respondWith((_req, i) => ({ status: i < 2 ? 429 : 200 }));
    await database.pool.query(`insert into ${table} values (1, 'x', 1, null)`);
    const [first, second, third] = await hook.waitForRequests(3, 10_000);
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(950);
    expect(third!.at - second!.at).toBeGreaterThanOrEqual(1950);
    await eventually(async () => (await eventRow(first!.json.id))?.delivered, 5000, 'delivered');
  });

  test('exponential backoff: every wait under interval_sec × 2^(retry - 1), capped by max_interval_sec', async () => {
    await createTrigger({ retry_conf: { num_retries: 3, interval_sec: 1, timeout_sec: 5, backoff: 'exponential', max_interval_sec: 2 } });
    hook.respondWith((_req, i) => ({ status: i < 3 ? 500 : 200 }));
    await database.pool.query(`insert into ${table} values (1, 'x', 1, null)`);
    const received = await hook.waitForRequests(4, 15_000);
    const gaps = received.slice(1).map((r, i) => r.at - received[i]!.at);
    // Bounds 1 s, 2 s, then capped at 2 s (plus the time to record and fetch an attempt).
    expect(gaps[0]).toBeLessThan(1000 + 1000);
    expect(gaps[1]).toBeLessThan(2000 + 1000);
    expect(gaps[2]).toBeLessThan(2000 + 1000);
    await eventually(async () => (await eventRow(received[0]!.json.id))?.delivered, 5000, 'delivered');
  });

  test('retries wait interval_sec between attempts', async () => {
    await createTrigger({ retry_conf: { num_retries: 1, interval_sec: 1, timeout_sec: 5 } });
    hook.respondWith((_req, i) => ({ status: i === 0 ? 503 : 200 }));
    await database.pool.query(`insert into ${table} values (1, 'x', 1, null)`);
    const [first, second] = await hook.waitForRequests(2, 10_000);
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(950);
    await eventually(async () => (await eventRow(first!.json.id))?.delivered, 5000, 'delivered');
  });

  test('timeout_sec bounds an attempt on a webhook that never answers', async () => {
    await createTrigger({ retry_conf: { num_retries: 0, interval_sec: 0, timeout_sec: 1 } });
    hook.hold(); // never answers (until the test ends): only timeout_sec can end the attempt
    await database.pool.query(`insert into ${table} values (1, 'x', 1, null)`);
    const [req] = await hook.waitForRequests(1);
    const row = await eventually(
      async () => {
        const r = await eventRow(req!.json.id);
        return r?.error ? r : undefined;
      },
      15_000,
      'error after timeout',
    );
    expect(row.tries).toBe(1);
    // The attempt's log says it timed out with no response, and it was written no sooner than
    // timeout_sec after the event (both times on the database's clock).
    const log = await database.pool.query(
      `select l.status, l.response, l.duration_ms, extract(epoch from l.created_at - e.created_at) * 1000 as after_ms
       from event_triggers.event_invocation_logs l join event_triggers.event_log e on e.id = l.event_id where l.event_id = $1`,
      [req!.json.id],
    );
    expect(log.rows).toHaveLength(1);
    expect(log.rows[0].status).toBeNull();
    expect(log.rows[0].response.type).toBe('client_error');
    expect(log.rows[0].response.data.message).toMatch(/timeout/);
    expect(Number(log.rows[0].after_ms)).toBeGreaterThanOrEqual(950);
    // The attempt's own duration: timeout_sec, measured by the daemon.
    expect(log.rows[0].duration_ms).toBeGreaterThanOrEqual(995);
    expect(log.rows[0].duration_ms).toBeLessThan(5000);
  });

  test('Retry-After (seconds and HTTP-date) sets the next attempt, even past num_retries', async () => {
    const INTERVAL_SEC = 30;
    await createTrigger({ retry_conf: { num_retries: 0, interval_sec: INTERVAL_SEC, timeout_sec: 5 } });
    hook.respondWith((_req, i) => {
      if (i === 0) return { status: 429, headers: { 'retry-after': '1' } };
      // An HTTP-date has one-second resolution (toUTCString truncates): 4 s ahead is at least 3 s ahead.
      if (i === 1) return { status: 503, headers: { 'retry-after': new Date(Date.now() + 4000).toUTCString() } };
      return { status: 200 };
    });
    await database.pool.query(`insert into ${table} values (1, 'x', 1, null)`);
    const [a, b, c] = await hook.waitForRequests(3, 20_000);
    // Each wait is the one Retry-After asked for, not interval_sec (30 s), and not sooner.
    expect(b!.at - a!.at).toBeGreaterThanOrEqual(950);
    expect(b!.at - a!.at).toBeLessThan(INTERVAL_SEC * 1000);
    expect(c!.at - b!.at).toBeGreaterThanOrEqual(2950);
    expect(c!.at - b!.at).toBeLessThan(INTERVAL_SEC * 1000);
    expect(c!.json.delivery_info).toEqual({ max_retries: 0, current_retry: 2 });
    await eventually(async () => (await eventRow(a!.json.id))?.delivered, 5000, 'delivered');
  });

  test('Retry-After: 0 or a past HTTP-date is ignored, as Hasura does: retry_conf decides, so attempts end', async () => {
    await createTrigger({ retry_conf: { num_retries: 1, interval_sec: 1, timeout_sec: 5 } });
    hook.respondWith((_req, i) => ({
      status: 503,
      headers: { 'retry-after': i === 0 ? '0' : new Date(Date.now() - 60_000).toUTCString() },
    }));
    await database.pool.query(`insert into ${table} values (1, 'x', 1, null)`);
    const [first, second] = await hook.waitForRequests(2, 10_000);
    // interval_sec applied, not the zero delay.
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(950);
    await eventually(async () => (await eventRow(first!.json.id))?.error, 5000, 'error recorded');
    await new Promise((r) => setTimeout(r, 300));
    expect(hook.requests).toHaveLength(2);
    expect(await eventRow(first!.json.id)).toMatchObject({ tries: 2, error: true, delivered: false });
  });

  test('a retry due far ahead is parked in the database; a huge Retry-After is capped at a year and stalls nothing', async () => {
    await createTrigger({ retry_conf: { num_retries: 1, interval_sec: 31_536_000, timeout_sec: 5 } });
    hook.respondWith((req) => {
      const id = Number(req.json.event.data.new.id);
      if (id === 1) return { status: 503, headers: { 'retry-after': '99999999999999999999' } };
      if (id === 2) return { status: 500 };
      return { status: 200 };
    });
    await database.pool.query(`insert into ${table} values (1, 'x', 1, null), (2, 'y', 1, null)`);
    const [a, b] = await hook.waitForRequests(2);
    const yearAhead = async (id: string) => {
      const { rows } = await database.pool.query(
        `select tries, locked_by, extract(epoch from next_retry_at - now()) / 86400 as days
         from event_triggers.event_log where id = $1`,
        [id],
      );
      const row = rows[0];
      return row.tries === 1 && row.locked_by === null && row.days > 364 && row.days <= 365 ? row : undefined;
    };
    // Recorded (not retried in a loop), released, and due in a year: interval_sec, and Retry-After capped.
    await eventually(() => yearAhead(a!.json.id), 5000, 'event 1 parked a year ahead');
    await eventually(() => yearAhead(b!.json.id), 5000, 'event 2 parked a year ahead');
    await database.pool.query(`insert into ${table} values (3, 'z', 1, null)`);
    await eventually(() => hook.requests.some((r) => Number(r.json.event.data.new.id) === 3), 5000, 'a later event delivered');
    await new Promise((r) => setTimeout(r, 500));
    expect(hook.requests.map((r) => Number(r.json.event.data.new.id)).sort()).toEqual([1, 2, 3]);
  });

  test('an event deleted by hand while it is delivered: its log is kept, as in Hasura, and the other outcomes are recorded', async () => {
    await createTrigger({});
    hook.hold();
    await database.pool.query(`insert into ${table} values (1, 'x', 1, null), (2, 'y', 1, null)`);
    const [a, b] = await hook.waitForRequests(2);
    const gone = Number(a!.json.event.data.new.id) === 1 ? a! : b!;
    const kept = gone === a ? b! : a!;
    // Its invocation log will refer to nothing: since catalog migration 8 (no foreign key, as in Hasura)
    // that is kept, and must not stall the batch.
    await database.pool.query('delete from event_triggers.event_log where id = $1', [gone.json.id]);
    hook.release();
    await eventually(async () => (await eventRow(kept.json.id))?.delivered, 5000, 'the other event recorded as delivered');
    const logged = async () =>
      (
        await database.pool.query(
          'select event_id::text from event_triggers.event_invocation_logs where event_id = any($1::uuid[]) order by event_id',
          [[gone.json.id, kept.json.id]],
        )
      ).rows.map((r) => r.event_id);
    await eventually(async () => (await logged()).length === 2, 5000, 'both attempts logged');
    expect(await logged()).toEqual([gone.json.id, kept.json.id].sort());
    await database.pool.query(`insert into ${table} values (3, 'z', 1, null)`);
    const [, , c] = await hook.waitForRequests(3);
    await eventually(async () => (await eventRow(c!.json.id))?.delivered, 5000, 'a later event recorded as delivered');
  });

  test('headers from value and from env are sent; the env value never reaches the invocation log', async () => {
    await createTrigger({
      headers: [
        { name: 'X-Static', value: 'static-value' },
        { name: 'Authorization', value_from_env: 'HOOK_TOKEN' },
      ],
    });
    await database.pool.query(`insert into ${table} values (1, 'x', 1, null)`);
    const [req] = await hook.waitForRequests(1);
    expect(req!.headers['x-static']).toBe('static-value');
    expect(req!.headers.authorization).toBe('secret-token-value');
    expect(req!.headers['user-agent']).toMatch(/^pg-event-triggers\//);
    await eventually(async () => (await eventRow(req!.json.id))?.delivered, 5000, 'delivered');
    const log = await database.pool.query(
      'select request::jsonb::text as request from event_triggers.event_invocation_logs where event_id = $1',
      [req!.json.id],
    );
    expect(log.rows[0].request).toContain('"value_from_env": "HOOK_TOKEN"');
    expect(log.rows[0].request).not.toContain('secret-token-value');
  });

  test("a trigger's User-Agent replaces ours, its Content-Type never replaces the JSON one; the log shows what was sent", async () => {
    await createTrigger({
      headers: [
        { name: 'User-Agent', value: 'orders-hook/1' },
        { name: 'Content-Type', value: 'text/plain' },
      ],
    });
    await database.pool.query(`insert into ${table} values (1, 'x', 1, null)`);
    const [req] = await hook.waitForRequests(1);
    expect(req!.headers['user-agent']).toBe('orders-hook/1');
    expect(req!.headers['content-type']).toBe('application/json');
    await eventually(async () => (await eventRow(req!.json.id))?.delivered, 5000, 'delivered');
    const log = await database.pool.query('select request from event_triggers.event_invocation_logs where event_id = $1', [req!.json.id]);
    expect(log.rows[0].request.headers).toEqual([
      { name: 'Content-Type', value: 'application/json' },
      { name: 'User-Agent', value: 'orders-hook/1' },
    ]);
  });

  test('webhook_from_env delivers to the URL in the environment', async () => {
    await createTrigger({ webhook: undefined, webhook_from_env: 'ORDERS_HOOK' });
    await database.pool.query(`insert into ${table} values (7, 'x', 1, null)`);
    const [req] = await hook.waitForRequests(1);
    expect(req!.json.event.data.new.id).toBe(7);
  });

  test('replace: pending events go to the new webhook with the new headers', async () => {
    const other = await startWebhookReceiver('/other');
    try {
      const name = await createTrigger({ retry_conf: { num_retries: 5, interval_sec: 1, timeout_sec: 5 } });
      hook.respondWith(() => ({ status: 500 }));
      await database.pool.query(`insert into ${table} values (1, 'x', 1, null)`);
      await hook.waitForRequests(1);
      await daemon.query('create_event_trigger', {
        name,
        table: { schema: 'public', name: table },
        webhook: other.url,
        insert: { columns: '*' },
        headers: [{ name: 'X-Version', value: '2' }],
        retry_conf: { num_retries: 5, interval_sec: 1, timeout_sec: 5 },
        replace: true,
      });
      const [req] = await other.waitForRequests(1, 10_000);
      expect(req!.headers['x-version']).toBe('2');
      expect(req!.json.delivery_info.current_retry).toBeGreaterThanOrEqual(1);
    } finally {
      await other.close();
    }
  });

  test('delete: pending events of the trigger are archived and never delivered', async () => {
    const name = await createTrigger({ retry_conf: { num_retries: 5, interval_sec: 1, timeout_sec: 5 } });
    hook.respondWith(() => ({ status: 500 }));
    // The first attempt is held unanswered while the trigger is deleted: no retry can be under way or
    // due meanwhile, so every request after this one would be a delivery after the delete.
    hook.hold();
    await database.pool.query(`insert into ${table} values (1, 'x', 1, null)`);
    const [req] = await hook.waitForRequests(1);
    await daemon.query('delete_event_trigger', { name });
    expect(hook.requests).toHaveLength(1);
    hook.release(); // the held attempt fails (500): were the event still live, it would be retried in 1 s
    await new Promise((r) => setTimeout(r, 2500));
    expect(hook.requests).toHaveLength(1);
    const { rows } = await database.pool.query('select archived, locked_by, delivered from event_triggers.event_log where id = $1', [
      req!.json.id,
    ]);
    expect(rows[0]).toEqual({ archived: true, locked_by: null, delivered: false });
  });

  test('redeliver_event delivers an errored event again, with tries reset', async () => {
    await createTrigger({ retry_conf: { num_retries: 0, interval_sec: 0, timeout_sec: 5 } });
    hook.respondWith((_req, i) => ({ status: i === 0 ? 500 : 200 }));
    await database.pool.query(`insert into ${table} values (1, 'x', 1, null)`);
    const [first] = await hook.waitForRequests(1);
    const id = first!.json.id;
    await eventually(async () => (await eventRow(id))?.error, 5000, 'error');
    expect(await daemon.query('redeliver_event', { event_id: id })).toEqual({ message: 'success' });
    const [, second] = await hook.waitForRequests(2);
    expect(second!.json.id).toBe(id);
    expect(second!.json.delivery_info.current_retry).toBe(0);
    await eventually(async () => (await eventRow(id))?.delivered, 5000, 'delivered');
    expect(await eventRow(id)).toMatchObject({ tries: 1, error: false });
  });

  test('redeliver_event of a delivered event delivers it again', async () => {
    await createTrigger({});
    await database.pool.query(`insert into ${table} values (1, 'x', 1, null)`);
    const [first] = await hook.waitForRequests(1);
    await eventually(async () => (await eventRow(first!.json.id))?.delivered, 5000, 'delivered');
    await daemon.query('redeliver_event', { event_id: first!.json.id });
    const [, again] = await hook.waitForRequests(2);
    expect(again!.json.id).toBe(first!.json.id);
  });

  test('redeliver_event of an event waiting for its retry delivers it now', async () => {
    await createTrigger({ retry_conf: { num_retries: 3, interval_sec: 3600, timeout_sec: 5 } });
    hook.respondWith((_req, i) => ({ status: i === 0 ? 500 : 200 }));
    await database.pool.query(`insert into ${table} values (1, 'x', 1, null)`);
    const [first] = await hook.waitForRequests(1);
    await eventually(async () => (await eventRow(first!.json.id))?.next_retry_at, 5000, 'waiting');
    await daemon.query('redeliver_event', { event_id: first!.json.id });
    const [, second] = await hook.waitForRequests(2, 5000);
    expect(second!.json.delivery_info.current_retry).toBe(0);
  });

  test('redeliver_event of an event being delivered right now is busy', async () => {
    await createTrigger({});
    hook.hold();
    await database.pool.query(`insert into ${table} values (1, 'x', 1, null)`);
    const [req] = await hook.waitForRequests(1);
    const res = await daemon.tryQuery('redeliver_event', { event_id: req!.json.id });
    expect(res.status).toBe(400);
    expect(res.json).toEqual({ code: 'busy', path: '$.args', error: 'event is already being processed' });
    hook.release();
  });

  test('invoke_event_trigger delivers a MANUAL event with the given payload', async () => {
    const name = await createTrigger({});
    // Sent as raw text: a JS number literal would already be rounded before it left the test.
    const answer = await request(`${daemon.daemon.url}/v1/query`, {
      method: 'POST',
      body: `{"type":"invoke_event_trigger","args":{"name":"${name}","payload":{"order":50755254975729665,"note":"by hand"}}}`,
    });
    const res = (await answer.body.json()) as { event_id: string };
    expect(answer.statusCode).toBe(200);
    expect(res.event_id).toMatch(/^[0-9a-f-]{36}$/);
    const [req] = await hook.waitForRequests(1);
    expect(req!.json.id).toBe(res.event_id);
    expect(req!.json.event.op).toBe('MANUAL');
    expect(req!.json.event.data.old).toBeNull();
    expect(req!.text).toContain('"order": 50755254975729665');
    // As Hasura: the session of the caller, an admin.
    expect(req!.json.event.session_variables).toEqual({ 'x-hasura-role': 'admin' });
    expect(req!.json.event.trace_context).toBeNull();
  });

  test('the session variables an application sets (SET LOCAL "hasura.user") reach the webhook', async () => {
    await createTrigger({});
    const client = await database.pool.connect();
    try {
      await client.query('begin');
      await client.query(`set local "hasura.user" = '{"x-hasura-role":"user","x-hasura-user-id":"42"}'`);
      await client.query(`insert into ${table} values (1, 'pear', 3, null)`);
      await client.query('commit');
    } finally {
      client.release();
    }
    const [req] = await hook.waitForRequests(1);
    expect(req!.json.event.session_variables).toEqual({ 'x-hasura-role': 'user', 'x-hasura-user-id': '42' });
    expect(req!.json.event.data.new.name).toBe('pear');
  });
});
