/**
 * The console's read-only operations (get_event_triggers, get_delivery_stats, search_event_logs,
 * search_event_invocation_logs) over real HTTP and a real PostgreSQL. Events and attempts are written
 * with SQL in the states under test (pending, retrying, held, failed, delivered, archived), so each count
 * and filter is checked against rows whose state the test chose.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { COUNT_LIMIT, STATS_ATTEMPT_LIMIT } from '../../src/api/operations/overview.js';
import { overviewStatements } from '../../src/sql/overviewStatements.js';
import { searchStatements } from '../../src/sql/searchStatements.js';
import { catalogSnapshot } from '../support/catalogSnapshot.js';
import { startApi, type ApiHarness } from '../support/apiHarness.js';
import { indexes, PLAN_MODES, preparedPlan, seqScans } from '../support/queryPlans.js';

let api: ApiHarness;

beforeAll(async () => {
  api = await startApi();
  await api.pool.query('create table public.orders (id bigint primary key, note text)');
  for (const name of ['alpha', 'beta']) {
    const res = await api.query('create_event_trigger', {
      name,
      table: 'orders',
      webhook: 'http://127.0.0.1:9/orders',
      insert: { columns: '*' },
      retry_conf: { num_retries: 2, interval_sec: 30 },
    });
    expect(res.status, res.text).toBe(200);
  }
});
afterAll(() => api?.close());

interface EventState {
  trigger?: string;
  delivered?: boolean;
  error?: boolean;
  archived?: boolean;
  lockedBy?: string | null;
  /** Seconds from now (negative: in the past). */
  retryIn?: number | null;
  /** Seconds ago. */
  age?: number;
  payload?: string;
}

/** Writes one event in the given state, as delivery would have left it. */
async function addEvent(state: EventState): Promise<string> {
  const { rows } = await api.pool.query<{ id: string }>(
    `insert into event_triggers.event_log
       (schema_name, table_name, trigger_name, payload, delivered, error, archived, locked_by, locked_at, next_retry_at, created_at, tries)
     values ('public', 'orders', $1, $2::jsonb, $3, $4, $5, $6, case when $6::uuid is not null then now() end,
             now() + make_interval(secs => $7), now() - make_interval(secs => $8), 1)
     returning id`,
    [
      state.trigger ?? 'alpha',
      state.payload ?? '{"op":"INSERT","data":{"old":null,"new":{"id":1}}}',
      state.delivered ?? false,
      state.error ?? false,
      state.archived ?? false,
      state.lockedBy ?? null,
      state.retryIn ?? null,
      state.age ?? 0,
    ],
  );
  return rows[0]!.id;
}

/** Writes one attempt of an event, made at `at`, that took `durationMs` (null: logged before durations were). */
async function addAttempt(
  eventId: string,
  status: number | null,
  at: Date,
  trigger = 'alpha',
  durationMs: number | null = 10,
): Promise<void> {
  const response =
    status !== null && status >= 200 && status < 300
      ? { type: 'webhook_response', data: { status, headers: [], body: 'fine' }, version: '2' }
      : { type: 'client_error', data: { message: status === null ? 'ECONNREFUSED' : 'boom' }, version: '2' };
  await api.pool.query(
    `insert into event_triggers.event_invocation_logs (event_id, trigger_name, status, request, response, created_at, duration_ms)
     values ($1, $2, $3, '{"payload":{},"headers":[],"version":"2"}', $4, $5, $6)`,
    [eventId, trigger, status, JSON.stringify(response), at.toISOString(), durationMs],
  );
}

/** Removes every event and attempt (invocation logs have no foreign key to events since migration 8). */
async function clearEvents() {
  await api.pool.query('delete from event_triggers.event_invocation_logs');
  await api.pool.query('delete from event_triggers.event_log');
}

describe('get_event_triggers', () => {
  test('lists every trigger with its definition and the counts of its events by state', async () => {
    await clearEvents();
    const instance = randomUUID();
    await addEvent({}); // pending, due now
    await addEvent({ retryIn: 60 }); // retrying, parked in the database
    await addEvent({ lockedBy: instance, retryIn: 30 }); // retrying, held by a daemon
    await addEvent({ lockedBy: instance }); // in flight
    await addEvent({ error: true });
    await addEvent({ error: true, age: 3 * 86_400 }); // failed long ago: still failed
    await addEvent({ error: true, archived: true }); // its trigger was deleted once: not counted
    for (let i = 0; i < 3; i++) await addEvent({ delivered: true });
    await addEvent({ delivered: true, age: 2 * 86_400 }); // before the default day
    await addEvent({ trigger: 'beta', delivered: true });

    const res = await api.query('get_event_triggers', {});
    expect(res.status).toBe(200);
    expect(res.json.count_limit).toBe(COUNT_LIMIT);
    const since = Date.parse(res.json.delivered_since);
    expect(Math.abs(since - (Date.now() - 86_400_000))).toBeLessThan(60_000);
    const [alpha, beta] = res.json.triggers;
    expect(res.json.triggers.map((t: { name: string }) => t.name)).toEqual(['alpha', 'beta']);
    expect(alpha.counts).toEqual({ pending: 4, retrying: 2, failed: 2, delivered: 3 });
    expect(alpha.counts_at_least).toEqual([]);
    expect(beta.counts).toEqual({ pending: 0, retrying: 0, failed: 0, delivered: 1 });
    expect(alpha.table).toEqual({ schema: 'public', name: 'orders' });
    expect(alpha.table_exists).toBe(true);
    expect(alpha.definition).toMatchObject({
      name: 'alpha',
      webhook: 'http://127.0.0.1:9/orders',
      insert: { columns: '*' },
      retry_conf: { num_retries: 2, interval_sec: 30, timeout_sec: 60 },
    });
    expect(alpha.id).toMatch(/^[0-9a-f-]{36}$/);

    const wider = await api.query('get_event_triggers', {
      name: 'alpha',
      delivered_since: new Date(Date.now() - 3 * 86_400_000).toISOString(),
    });
    expect(wider.json.triggers).toHaveLength(1);
    expect(wider.json.triggers[0].counts.delivered).toBe(4);
  });

  test('shows a table by the name it has now', async () => {
    await api.pool.query('create table public.renamed_later (id int primary key)');
    await api.query('create_event_trigger', {
      name: 'gamma',
      table: 'renamed_later',
      webhook: 'http://127.0.0.1:9/',
      insert: { columns: '*' },
    });
    await api.pool.query('alter table public.renamed_later rename to renamed_now');
    const res = await api.query('get_event_triggers', { name: 'gamma' });
    expect(res.json.triggers[0].table).toEqual({ schema: 'public', name: 'renamed_now' });
    await api.pool.query('drop table public.renamed_now');
    const dropped = await api.query('get_event_triggers', { name: 'gamma' });
    expect(dropped.json.triggers[0]).toMatchObject({ table: { schema: 'public', name: 'renamed_later' }, table_exists: false });
    await api.query('delete_event_trigger', { name: 'gamma' });
  });

  test('counts stop at the limit and say so', async () => {
    await clearEvents();
    const rows = COUNT_LIMIT + 5;
    await api.pool.query(
      `insert into event_triggers.event_log (schema_name, table_name, trigger_name, payload, error)
       select 'public', 'orders', 'alpha', '{}', true from generate_series(1, $1)`,
      [rows],
    );
    await api.pool.query(
      `insert into event_triggers.event_log (schema_name, table_name, trigger_name, payload)
       select 'public', 'orders', 'beta', '{}' from generate_series(1, $1)`,
      [rows],
    );
    const res = await api.query('get_event_triggers', {});
    const [alpha, beta] = res.json.triggers;
    expect(alpha.counts.failed).toBe(COUNT_LIMIT);
    expect(alpha.counts_at_least).toEqual(['pending', 'retrying', 'failed']);
    expect(beta.counts.pending).toBe(COUNT_LIMIT);
    expect(beta.counts_at_least).toEqual(['pending', 'retrying']);
    await clearEvents();
  });

  test('refuses what it cannot answer, and changes nothing', async () => {
    const before = await catalogSnapshot(api.pool);
    const unknown = await api.query('get_event_triggers', { name: 'nope' });
    expect(unknown.status).toBe(400);
    expect(unknown.json).toEqual({ path: '$.args', error: 'event trigger "nope" does not exist', code: 'not-exists' });
    const badTime = await api.query('get_event_triggers', { delivered_since: 'yesterday' });
    expect(badTime.json).toMatchObject({ path: '$.args.delivered_since', code: 'parse-failed' });
    expect(badTime.json.error).toContain('ISO-8601');
    const extra = await api.query('get_event_triggers', { nme: 'alpha' });
    expect(extra.json).toMatchObject({ path: '$.args', code: 'parse-failed', error: 'unexpected key "nme"' });
    expect(await catalogSnapshot(api.pool)).toEqual(before);
  });
});

describe('get_delivery_stats', () => {
  test('counts attempts per minute, delivered and failed, over the minutes asked for', async () => {
    await clearEvents();
    const event = await addEvent({ delivered: true });
    const other = await addEvent({ trigger: 'beta', error: true });
    // At the start of this minute and of the one ten minutes before: whenever the minute turns, each
    // bucket is found by its time, and holds them all.
    const thisMinute = Math.floor(Date.now() / 60_000) * 60_000;
    const tenBefore = thisMinute - 600_000;
    await addAttempt(event, 200, new Date(thisMinute), 'alpha', 20);
    await addAttempt(event, 500, new Date(thisMinute), 'alpha', 41);
    await addAttempt(event, null, new Date(thisMinute), 'alpha', 60);
    await addAttempt(event, 204, new Date(tenBefore), 'alpha', null); // logged before durations were
    await addAttempt(event, 200, new Date(thisMinute - 7_200_000)); // two hours ago: outside the chart
    await addAttempt(other, 503, new Date(thisMinute), 'beta', 300);

    const res = await api.query('get_delivery_stats', {});
    expect(res.status).toBe(200);
    const { minutes } = res.json;
    expect(minutes).toHaveLength(60);
    expect(Date.parse(minutes[59].minute)).toBeLessThanOrEqual(Date.now());
    expect(Date.parse(minutes[1].minute) - Date.parse(minutes[0].minute)).toBe(60_000);
    expect(res.json.since).toBe(minutes[0].minute);
    expect(res.json.oldest_counted).toBeNull();
    expect(res.json.attempt_limit).toBe(STATS_ATTEMPT_LIMIT);
    const total = (key: 'delivered' | 'failed') =>
      minutes.reduce((sum: number, m: { delivered: number; failed: number }) => sum + m[key], 0);
    expect(total('delivered')).toBe(2);
    expect(total('failed')).toBe(3);
    const bucket = (at: number) => minutes.find((m: { minute: string }) => Date.parse(m.minute) === at);
    expect(bucket(tenBefore)).toMatchObject({ delivered: 1, failed: 0, latency_ms_avg: null, latency_ms_max: null });
    // Alpha's three attempts and beta's, their average and the slowest.
    expect(bucket(thisMinute)).toMatchObject({ delivered: 1, failed: 3, latency_ms_avg: 105, latency_ms_max: 300 });
    expect(bucket(thisMinute - 1_800_000)).toMatchObject({ delivered: 0, failed: 0, latency_ms_avg: null, latency_ms_max: null });

    const one = await api.query('get_delivery_stats', { name: 'beta', minutes: 5 });
    expect(one.json.minutes).toHaveLength(5);
    expect(one.json.minutes.reduce((sum: number, m: { failed: number }) => sum + m.failed, 0)).toBe(1);
  });

  test('reads at most its limit of attempts per trigger, and says from when its counts are whole', async () => {
    await clearEvents();
    const event = await addEvent({ delivered: true });
    await api.pool.query(
      `insert into event_triggers.event_invocation_logs (event_id, trigger_name, status, request, response, created_at)
       select $1, 'alpha', 200, '{}', '{}', now() - make_interval(secs => g * 0.3) from generate_series(1, $2) g`,
      [event, STATS_ATTEMPT_LIMIT + 100],
    );
    const res = await api.query('get_delivery_stats', { name: 'alpha' });
    const counted = res.json.minutes.reduce((sum: number, m: { delivered: number }) => sum + m.delivered, 0);
    expect(counted).toBe(STATS_ATTEMPT_LIMIT);
    const oldest = Date.parse(res.json.oldest_counted);
    // One attempt every 0.3 s: the newest STATS_ATTEMPT_LIMIT of them go back that many times 0.3 s.
    expect(oldest).toBeGreaterThan(Date.now() - (STATS_ATTEMPT_LIMIT + 100) * 300);
    expect(oldest).toBeLessThan(Date.now() - (STATS_ATTEMPT_LIMIT - 100) * 300);
    await clearEvents();
  });

  test('refuses a span over an hour', async () => {
    const res = await api.query('get_delivery_stats', { minutes: 61 });
    expect(res.json).toEqual({ path: '$.args.minutes', error: 'must be at most 60', code: 'parse-failed' });
  });
});

describe('search_event_logs and search_event_invocation_logs', () => {
  let ids: Record<string, string>;
  beforeAll(async () => {
    await clearEvents();
    ids = {
      old: await addEvent({ delivered: true, age: 7200 }),
      failed: await addEvent({ error: true, age: 60 }),
      pending: await addEvent({ age: 30, payload: `{"op":"INSERT","data":{"old":null,"new":{"note":"${'x'.repeat(5000)}"}}}` }),
      delivered: await addEvent({ delivered: true, age: 10 }),
      other: await addEvent({ trigger: 'beta', delivered: true }),
    };
    const ago = (seconds: number) => new Date(Date.now() - seconds * 1000);
    await addAttempt(ids.failed!, 500, ago(59));
    await addAttempt(ids.delivered!, 200, ago(9));
    await addAttempt(ids.old!, 200, ago(7199));
  });

  const search = async (args: Record<string, unknown>) => {
    const res = await api.query('search_event_logs', { name: 'alpha', ...args });
    expect(res.status, res.text).toBe(200);
    return res.json as { events: Array<Record<string, any>>; has_more: boolean };
  };

  test('filters events by status, newest first', async () => {
    const all = await search({});
    expect(all.events.map((e) => e.id)).toEqual([ids.delivered, ids.pending, ids.failed, ids.old]);
    expect(all.has_more).toBe(false);
    expect((await search({ status: 'pending' })).events.map((e) => e.id)).toEqual([ids.pending]);
    expect((await search({ status: 'processed' })).events.map((e) => e.id)).toEqual([ids.delivered, ids.failed, ids.old]);
    expect((await search({ status: 'delivered' })).events.map((e) => e.id)).toEqual([ids.delivered, ids.old]);
    expect((await search({ status: 'error' })).events.map((e) => e.id)).toEqual([ids.failed]);
  });

  test('rows carry a preview of the payload, not the payload', async () => {
    const [row] = (await search({ status: 'pending' })).events;
    expect(row).toMatchObject({ id: ids.pending, op: 'INSERT', status: 'pending', tries: 1, trigger_name: 'alpha' });
    expect(row!.payload_preview).toHaveLength(200);
    expect(row!.payload_preview.startsWith('{"note": "xxx')).toBe(true);
    expect(row!.payload_bytes).toBeGreaterThan(5000);
    expect(row!.payload).toBeUndefined();
  });

  test('filters by time range and event id, and pages', async () => {
    const since = new Date(Date.now() - 45_000).toISOString();
    const until = new Date(Date.now() - 5_000).toISOString();
    expect((await search({ since })).events.map((e) => e.id)).toEqual([ids.delivered, ids.pending]);
    expect((await search({ since, until: new Date(Date.now() - 20_000).toISOString() })).events.map((e) => e.id)).toEqual([ids.pending]);
    expect((await search({ until })).events).toHaveLength(4);
    expect((await search({ event_id: ids.failed })).events.map((e) => e.id)).toEqual([ids.failed]);
    expect((await search({ event_id: ids.failed, status: 'delivered' })).events).toEqual([]);
    expect((await search({ event_id: ids.other })).events).toEqual([]); // another trigger's
    const first = await search({ limit: 3 });
    expect(first.has_more).toBe(true);
    const second = await search({ limit: 3, offset: 3 });
    expect(second.has_more).toBe(false);
    expect([...first.events, ...second.events].map((e) => e.id)).toEqual([ids.delivered, ids.pending, ids.failed, ids.old]);
  });

  test('filters attempts by outcome, time and event', async () => {
    const attempts = async (args: Record<string, unknown>) => {
      const res = await api.query('search_event_invocation_logs', { name: 'alpha', ...args });
      expect(res.status, res.text).toBe(200);
      return res.json as { invocations: Array<Record<string, any>>; has_more: boolean };
    };
    const all = await attempts({});
    expect(all.invocations.map((l) => l.event_id)).toEqual([ids.delivered, ids.failed, ids.old]);
    expect(all.invocations[1]).toMatchObject({ http_status: 500, type: 'client_error', response_preview: 'boom' });
    expect(all.invocations[0]).toMatchObject({ http_status: 200, type: 'webhook_response', response_preview: 'fine', duration_ms: 10 });
    expect((await attempts({ status: 'failure' })).invocations.map((l) => l.event_id)).toEqual([ids.failed]);
    expect((await attempts({ status: 'success', since: new Date(Date.now() - 3600_000).toISOString() })).invocations).toHaveLength(1);
    expect((await attempts({ event_id: ids.old })).invocations.map((l) => l.event_id)).toEqual([ids.old]);
    expect((await attempts({ limit: 2 })).has_more).toBe(true);
  });

  test('refuses malformed filters and unknown triggers', async () => {
    const cases: Array<[string, Record<string, unknown>, string]> = [
      ['search_event_logs', { name: 'alpha', status: 'failed' }, '$.args.status'],
      ['search_event_logs', { name: 'alpha', event_id: 'not-a-uuid' }, '$.args.event_id'],
      ['search_event_logs', { name: 'alpha', since: '2026-12-01T10:00:00' }, '$.args.since'],
      ['search_event_logs', { name: 'alpha', limit: 201 }, '$.args.limit'],
      ['search_event_invocation_logs', { name: 'alpha', status: 'pending' }, '$.args.status'],
      ['search_event_invocation_logs', { name: 'alpha', until: 12 }, '$.args.until'],
    ];
    for (const [type, args, path] of cases) {
      const res = await api.query(type, args);
      expect(res.json, `${type} ${JSON.stringify(args)}`).toMatchObject({ path, code: 'parse-failed' });
    }
    const unknown = await api.query('search_event_logs', { name: 'nope' });
    expect(unknown.json).toEqual({ path: '$.args', error: 'event trigger "nope" does not exist', code: 'not-exists' });
  });
});

describe('plans', () => {
  /**
   * The console asks every few seconds: each statement must read through an index, never scan a whole
   * log table, whichever plan PostgreSQL settles on for the prepared statement (custom or generic).
   */
  test('every statement reads event_log and event_invocation_logs through an index', async () => {
    await clearEvents();
    const event = await addEvent({ error: true });
    await api.pool.query(
      `insert into event_triggers.event_log (schema_name, table_name, trigger_name, payload, delivered, created_at)
       select 'public', 'orders', case when g % 2 = 0 then 'alpha' else 'beta' end, '{"op":"INSERT"}', true,
              now() - make_interval(secs => g) from generate_series(1, 20000) g`,
    );
    await api.pool.query(
      `insert into event_triggers.event_invocation_logs (event_id, trigger_name, status, request, response, created_at)
       select $1, case when g % 2 = 0 then 'alpha' else 'beta' end, 200, '{}', '{}', now() - make_interval(secs => g)
       from generate_series(1, 20000) g`,
      [event],
    );
    await api.pool.query('analyze event_triggers.event_log, event_triggers.event_invocation_logs');
    const hour = new Date(Date.now() - 3600_000).toISOString();
    const overview = overviewStatements('event_triggers');
    const search = searchStatements('event_triggers');
    const cases: Array<[string, string, Array<string | number | null>]> = [
      ['triggers', overview.triggers.text, [null, COUNT_LIMIT, hour]],
      ['deliveryStats', overview.deliveryStats.text, [null, hour, STATS_ATTEMPT_LIMIT]],
      ...Object.entries(search).map(([key, s]): [string, string, Array<string | number | null>] => [
        key,
        s.text,
        ['alpha', hour, null, 51, 0, ...(key.startsWith('event_') || key.startsWith('invocations_of_event') ? [event] : [])],
      ]),
    ];
    const client = await api.pool.connect();
    try {
      for (const mode of PLAN_MODES) {
        for (const [key, text, values] of cases) {
          const plan = await preparedPlan(client, text, values, mode);
          const logScans = seqScans(plan).filter((r) => r === 'event_log' || r === 'event_invocation_logs');
          expect(logScans, `${key} (${mode}) scans ${logScans.join(', ')}`).toEqual([]);
          // Failed events are found through their own index (migration 10), not among the delivered ones.
          if (key === 'triggers' || key === 'events_error') expect(indexes(plan), key).toContain('event_log_failed');
        }
      }
    } finally {
      client.release();
    }
    await clearEvents();
  });
});
