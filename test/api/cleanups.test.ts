/**
 * Event-log retention through the API, against a real PostgreSQL: cleanup_config on create_event_trigger
 * (Hasura's fields and defaults, stored and shown whole), cleanup_event_trigger_logs (what it deletes and
 * what it never touches) and pause_/resume_event_trigger_cleanups (Hasura's argument shapes). Every bad
 * input is refused with Hasura's error shape and changes nothing.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { startApi, type ApiHarness } from '../support/apiHarness.js';
import { catalogSnapshot } from '../support/catalogSnapshot.js';

let api: ApiHarness;
const WEBHOOK = 'http://127.0.0.1:9/hook';
const CLEANUP = { schedule: '0 3 * * *', clear_older_than: 24 };

beforeAll(async () => {
  api = await startApi();
  await api.pool.query('create table public.orders (id bigint primary key, total numeric)');
});
afterAll(() => api?.close());

const trigger = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  table: 'orders',
  webhook: WEBHOOK,
  insert: { columns: '*' },
  ...extra,
});

async function storedDefinition(name: string) {
  const { rows } = await api.pool.query('select definition from event_triggers.event_triggers where name = $1', [name]);
  return rows[0]?.definition;
}

beforeEach(async () => {
  for (const name of ['kept', 'other', 'plain']) await api.query('delete_event_trigger', { name });
  await api.pool.query('delete from event_triggers.event_invocation_logs');
  await api.pool.query('delete from event_triggers.event_log');
  await api.pool.query('delete from event_triggers.event_log_cleanups');
});

describe('cleanup_config', () => {
  test("is stored with Hasura's defaults, and shown whole where a definition is answered", async () => {
    expect((await api.query('pg_create_event_trigger', trigger('kept', { cleanup_config: CLEANUP }))).json).toEqual({
      message: 'success',
    });
    const full = { ...CLEANUP, batch_size: 10000, timeout: 60, clean_invocation_logs: false, paused: false };
    expect((await storedDefinition('kept')).cleanup_config).toEqual(full);
    // get_inconsistent_metadata answers definitions: make the trigger inconsistent to see its own.
    await api.pool.query('create table public.doomed (id int)');
    const given = { schedule: '*/5 * * * *', clear_older_than: 0, batch_size: 7, timeout: 3, clean_invocation_logs: true, paused: true };
    await api.query('create_event_trigger', { ...trigger('other', { cleanup_config: given }), table: 'doomed' });
    await api.pool.query('drop table public.doomed');
    const report = await api.query('get_inconsistent_metadata', {});
    expect(report.json.inconsistent_objects).toHaveLength(1);
    expect(report.json.inconsistent_objects[0].definition.cleanup_config).toEqual(given);
  });

  test('replace with another schedule drops the runs scheduled by the old one; the same schedule keeps them', async () => {
    await api.query('create_event_trigger', trigger('kept', { cleanup_config: CLEANUP }));
    const later = new Date(Date.now() + 3_600_000);
    await api.pool.query(
      "insert into event_triggers.event_log_cleanups (trigger_name, scheduled_at, status) values ('kept', $1, 'scheduled')",
      [later],
    );
    const count = async () => (await api.pool.query('select count(*)::int as n from event_triggers.event_log_cleanups')).rows[0].n;
    await api.query('create_event_trigger', trigger('kept', { cleanup_config: { ...CLEANUP, clear_older_than: 48 }, replace: true }));
    expect(await count()).toBe(1);
    await api.query('create_event_trigger', trigger('kept', { cleanup_config: { ...CLEANUP, schedule: '0 4 * * *' }, replace: true }));
    expect(await count()).toBe(0);
  });

  test.each([
    ['no schedule', { clear_older_than: 1 }, '$.args.cleanup_config', 'key "schedule" not found'],
    ['no clear_older_than', { schedule: '0 0 * * *' }, '$.args.cleanup_config', 'key "clear_older_than" not found'],
    ['a schedule that is not cron', { ...CLEANUP, schedule: 'every day' }, '$.args.cleanup_config.schedule', /not a cron schedule/],
    ['a cron with seconds', { ...CLEANUP, schedule: '0 0 3 * * *' }, '$.args.cleanup_config.schedule', /five fields/],
    ['minute 61', { ...CLEANUP, schedule: '61 * * * *' }, '$.args.cleanup_config.schedule', /not a cron schedule/],
    ['negative hours', { ...CLEANUP, clear_older_than: -1 }, '$.args.cleanup_config.clear_older_than', 'must not be negative'],
    ['a batch of 0', { ...CLEANUP, batch_size: 0 }, '$.args.cleanup_config.batch_size', 'must be at least 1'],
    ['a fractional timeout', { ...CLEANUP, timeout: 1.5 }, '$.args.cleanup_config.timeout', 'expected a whole number, got a number'],
    ['paused as a string', { ...CLEANUP, paused: 'yes' }, '$.args.cleanup_config.paused', 'expected a boolean, got a string'],
    ['an unknown key', { ...CLEANUP, retention: 3 }, '$.args.cleanup_config', 'unexpected key "retention"'],
  ])('refuses %s: parse-failed at the key, nothing changed', async (_, cleanup, path, error) => {
    const before = await catalogSnapshot(api.pool);
    const res = await api.query('create_event_trigger', trigger('kept', { cleanup_config: cleanup }));
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ path, code: 'parse-failed' });
    if (typeof error === 'string') expect(res.json.error).toBe(error);
    else expect(res.json.error).toMatch(error);
    expect(await catalogSnapshot(api.pool)).toEqual(before);
  });
});

/** Seeds an event of `trigger` created `hoursAgo` hours ago, in a state, with one invocation log. */
async function seed(triggerName: string, hoursAgo: number, state: 'delivered' | 'error' | 'archived' | 'pending' | 'held' | 'waiting') {
  const id = randomUUID();
  await api.pool.query(
    `insert into event_triggers.event_log
       (id, schema_name, table_name, trigger_name, payload, delivered, error, archived, locked_by, locked_at, next_retry_at, tries, created_at)
     values ($1, 'public', 'orders', $2, '{"op":"INSERT"}', $3, $4, $5, $6, $7, $8, 1, now() - $9 * interval '1 hour')`,
    [
      id,
      triggerName,
      state === 'delivered',
      state === 'error',
      state === 'archived',
      state === 'held' ? randomUUID() : null,
      state === 'held' ? new Date() : null,
      state === 'waiting' ? new Date(Date.now() + 3_600_000) : null,
      hoursAgo,
    ],
  );
  await api.pool.query(
    `insert into event_triggers.event_invocation_logs (event_id, trigger_name, status, request, response)
     values ($1, $2, 200, '{}', '{}')`,
    [id, triggerName],
  );
  return id;
}

async function remaining() {
  const events = await api.pool.query('select id::text from event_triggers.event_log order by id');
  const logs = await api.pool.query('select event_id::text from event_triggers.event_invocation_logs order by event_id');
  return { events: events.rows.map((r) => r.id), logs: logs.rows.map((r) => r.event_id) };
}

describe('cleanup_event_trigger_logs', () => {
  test('deletes settled events older than clear_older_than, in batches; never pending, waiting or held ones, nor younger ones', async () => {
    await api.query('create_event_trigger', trigger('kept'));
    await api.query('create_event_trigger', trigger('other'));
    const old = [await seed('kept', 30, 'delivered'), await seed('kept', 40, 'error'), await seed('kept', 50, 'archived')];
    const untouched = [
      await seed('kept', 30, 'pending'),
      await seed('kept', 30, 'held'),
      await seed('kept', 30, 'waiting'),
      await seed('kept', 2, 'delivered'),
      await seed('other', 30, 'delivered'),
    ];
    const res = await api.query('cleanup_event_trigger_logs', {
      event_trigger_name: 'kept',
      source: 'default',
      clear_older_than: 24,
      batch_size: 2,
    });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ deleted_event_logs: 3, deleted_event_invocation_logs: 0 });
    const left = await remaining();
    expect(left.events).toEqual([...untouched].sort());
    // clean_invocation_logs false (Hasura's default): a cleaned event's invocation logs stay.
    expect(left.logs).toEqual([...old, ...untouched].sort());
  });

  test('with clean_invocation_logs, their invocation logs go too', async () => {
    await api.query('create_event_trigger', trigger('kept'));
    const young = await seed('kept', 1, 'delivered');
    await seed('kept', 30, 'delivered');
    await seed('kept', 30, 'error');
    const res = await api.query('cleanup_event_trigger_logs', {
      event_trigger_name: 'kept',
      clear_older_than: 24,
      clean_invocation_logs: true,
    });
    expect(res.json).toEqual({ deleted_event_logs: 2, deleted_event_invocation_logs: 2 });
    expect(await remaining()).toEqual({ events: [young], logs: [young] });
  });

  test('a batch that cannot finish within its timeout stops the cleanup, saying what was deleted before it', async () => {
    await api.query('create_event_trigger', trigger('kept'));
    await seed('kept', 30, 'delivered');
    // A transaction holding the invocation logs makes the batch wait for its lock past the timeout.
    const blocker = new pg.Client({ connectionString: api.db.url });
    await blocker.connect();
    try {
      await blocker.query('begin');
      await blocker.query('lock table event_triggers.event_invocation_logs in access exclusive mode');
      const res = await api.query('cleanup_event_trigger_logs', { event_trigger_name: 'kept', clear_older_than: 24, timeout: 1 });
      expect(res.status).toBe(400);
      expect(res.json).toEqual({
        path: '$.args',
        code: 'busy',
        error:
          'a batch took longer than its timeout (1 s) and was cancelled, after 0 event logs and 0 invocation logs were deleted: ' +
          'try a smaller batch_size or a longer timeout',
      });
    } finally {
      await blocker.query('rollback');
      await blocker.end();
    }
    expect((await remaining()).events).toHaveLength(1);
  });

  test('refuses an unknown trigger, a bad argument, and a place in a bulk, changing nothing', async () => {
    await api.query('create_event_trigger', trigger('kept'));
    await seed('kept', 30, 'delivered');
    const before = await catalogSnapshot(api.pool);
    const unknown = await api.query('cleanup_event_trigger_logs', { event_trigger_name: 'nope', clear_older_than: 1 });
    expect(unknown.json).toEqual({ path: '$.args', code: 'not-exists', error: 'event trigger "nope" does not exist' });
    const noAge = await api.query('cleanup_event_trigger_logs', { event_trigger_name: 'kept' });
    expect(noAge.json).toEqual({ path: '$.args', code: 'parse-failed', error: 'key "clear_older_than" not found' });
    const source = await api.query('cleanup_event_trigger_logs', { event_trigger_name: 'kept', clear_older_than: 1, source: 'elsewhere' });
    expect(source.json).toMatchObject({ code: 'not-exists', error: 'source with name "elsewhere" does not exist' });
    const bulk = await api.post('/v1/metadata', {
      type: 'bulk',
      args: [
        { type: 'pause_event_trigger_cleanups', args: { event_triggers: { sources: '*' } } },
        { type: 'cleanup_event_trigger_logs', args: { event_trigger_name: 'kept', clear_older_than: 1 } },
      ],
    });
    expect(bulk.status).toBe(400);
    expect(bulk.json).toMatchObject({ path: '$.args[1].type', code: 'not-supported' });
    expect(await catalogSnapshot(api.pool)).toEqual(before);
  });

  test('is also a JSON-RPC method', async () => {
    await api.query('create_event_trigger', trigger('kept'));
    await seed('kept', 30, 'delivered');
    const res = await api.post('/rpc', {
      jsonrpc: '2.0',
      id: 1,
      method: 'cleanup_event_trigger_logs',
      params: { event_trigger_name: 'kept', clear_older_than: 24 },
    });
    expect(res.json).toEqual({ jsonrpc: '2.0', id: 1, result: { deleted_event_logs: 1, deleted_event_invocation_logs: 0 } });
  });
});

describe('pause_event_trigger_cleanups and resume_event_trigger_cleanups', () => {
  const paused = async (name: string) => (await storedDefinition(name))?.cleanup_config?.paused;

  beforeEach(async () => {
    await api.query('create_event_trigger', trigger('kept', { cleanup_config: CLEANUP }));
    await api.query('create_event_trigger', trigger('other', { cleanup_config: CLEANUP }));
    await api.query('create_event_trigger', trigger('plain'));
  });

  test('{"sources": "*"} and a list of sources cover every trigger with a cleanup_config', async () => {
    const res = await api.query('pause_event_trigger_cleanups', { event_triggers: { sources: '*' } });
    expect(res.json).toEqual({ message: 'success' });
    expect([await paused('kept'), await paused('other'), (await storedDefinition('plain')).cleanup_config]).toEqual([
      true,
      true,
      undefined,
    ]);
    await api.post('/v1/metadata', { type: 'resume_event_trigger_cleanups', args: { event_triggers: { sources: ['default'] } } });
    expect([await paused('kept'), await paused('other')]).toEqual([false, false]);
  });

  test('a list of qualifiers names the triggers, each with its source', async () => {
    const res = await api.query('pause_event_trigger_cleanups', {
      event_triggers: [{ source_name: 'default', event_triggers: ['kept'] }],
    });
    expect(res.json).toEqual({ message: 'success' });
    expect([await paused('kept'), await paused('other')]).toEqual([true, false]);
  });

  test.each([
    [
      'an unknown source',
      { event_triggers: { sources: ['default', 'nowhere'] } },
      'not-exists',
      '$.args',
      'source with name nowhere does not exists',
    ],
    [
      'an unknown trigger',
      { event_triggers: [{ source_name: 'default', event_triggers: ['kept', 'nope'] }] },
      'not-exists',
      '$.args',
      'event trigger "nope" does not exist',
    ],
    [
      'a trigger without cleanup_config',
      { event_triggers: [{ event_triggers: ['kept', 'plain'] }] },
      'not-exists',
      '$.args',
      'cleanup config does not exist for plain',
    ],
    ['an empty list of sources', { event_triggers: { sources: [] } }, 'parse-failed', '$.args.event_triggers.sources', undefined],
    ['an empty list of qualifiers', { event_triggers: [] }, 'parse-failed', '$.args.event_triggers', undefined],
    ['a bare string', { event_triggers: '*' }, 'parse-failed', '$.args.event_triggers', undefined],
    ['no event_triggers', {}, 'parse-failed', '$.args', 'key "event_triggers" not found'],
  ])('refuses %s, changing nothing', async (_, args, code, path, error) => {
    const before = await catalogSnapshot(api.pool);
    const res = await api.query('pause_event_trigger_cleanups', args);
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ code, path });
    if (error) expect(res.json.error).toBe(error);
    expect(await catalogSnapshot(api.pool)).toEqual(before);
  });
});
