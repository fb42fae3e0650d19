/**
 * Scheduled cleanups across daemons, against a real PostgreSQL: two schedulers (two daemon instances) on
 * one catalog schedule each occurrence once, run each due run once between them, collapse missed runs
 * into one, take over the run of a daemon that went away, honour paused, and clean with the daemon-wide
 * default what no cleanup_config covers. Ticks are driven by the test (tick()) rather than waited for;
 * runs fall due by being scheduled in the past, as they would be after their time passed.
 */
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import type { CleanupConfig } from '../../src/catalog/definition.js';
import { TriggerRegistry } from '../../src/catalog/triggerRegistry.js';
import { CleanupScheduler } from '../../src/cleanup/cleanupScheduler.js';
import { nextOccurrence } from '../../src/cleanup/schedule.js';
import { migrate } from '../../src/db/migrate.js';
import { createPool } from '../../src/db/pool.js';
import { startApi, type ApiHarness } from '../support/apiHarness.js';
import { eventually, openTestDatabase, startTestDaemon } from '../support/daemonHarness.js';

const log = pino({ level: 'silent' });
let api: ApiHarness;
let registry: TriggerRegistry;
const CLEANUP: CleanupConfig = {
  schedule: '0 3 * * *',
  clear_older_than: 24,
  batch_size: 2,
  timeout: 10,
  clean_invocation_logs: true,
  paused: false,
};

beforeAll(async () => {
  api = await startApi();
  await api.pool.query('create table public.orders (id bigint primary key)');
  registry = new TriggerRegistry(api.pool, api.schema, {}, log);
});
afterAll(() => api?.close());

/** A daemon instance as presence registers it: alive while its heartbeat is fresh. */
async function liveInstance(): Promise<string> {
  const id = randomUUID();
  await api.pool.query("insert into event_triggers.instances (id, hostname, pid) values ($1, 'test', 1)", [id]);
  return id;
}

function scheduler(instanceId: string, defaultConfig?: CleanupConfig) {
  return new CleanupScheduler({
    pool: api.pool,
    schema: api.schema,
    instanceId,
    definitions: registry,
    defaultConfig,
    heartbeatTimeoutMs: 30_000,
    log,
  });
}

/** A trigger with CLEANUP as its cleanup_config, changed by `cleanup`; null: without cleanup_config. */
async function createTrigger(name: string, cleanup: Partial<CleanupConfig> | null = {}) {
  const res = await api.query('create_event_trigger', {
    name,
    table: 'orders',
    webhook: 'http://127.0.0.1:9/hook',
    insert: { columns: '*' },
    ...(cleanup === null ? {} : { cleanup_config: { ...CLEANUP, ...cleanup } }),
  });
  expect(res.json).toEqual({ message: 'success' });
  await registry.reload();
}

/** Settled events of a trigger, created hoursAgo, each with an invocation log. */
async function seedSettled(triggerName: string, count: number, hoursAgo = 48, archived = false) {
  await api.pool.query(
    `with e as (
       insert into event_triggers.event_log (schema_name, table_name, trigger_name, payload, delivered, archived, created_at)
       select 'public', 'orders', $1, '{}', not $4, $4, now() - $3 * interval '1 hour' from generate_series(1, $2)
       returning id)
     insert into event_triggers.event_invocation_logs (event_id, trigger_name, request, response)
     select id, $1, '{}', '{}' from e`,
    [triggerName, count, hoursAgo, archived],
  );
}

async function eventsOf(triggerName: string): Promise<number> {
  const { rows } = await api.pool.query('select count(*)::int as n from event_triggers.event_log where trigger_name = $1', [triggerName]);
  return rows[0].n;
}

/** A run of a trigger (null: the default) scheduled hoursAgo. */
async function scheduleRun(triggerName: string | null, hoursAgo: number, status = 'scheduled', runBy: string | null = null) {
  const { rows } = await api.pool.query(
    `insert into event_triggers.event_log_cleanups (trigger_name, scheduled_at, status, run_by)
     values ($1, date_trunc('minute', now()) - $2 * interval '1 hour', $3, $4) returning id`,
    [triggerName, hoursAgo, status, runBy],
  );
  return rows[0].id as string;
}

async function runs(triggerName: string | null) {
  const { rows } = await api.pool.query(
    `select scheduled_at, status, run_by::text, deleted_event_logs, deleted_event_invocation_logs, error
     from event_triggers.event_log_cleanups where coalesce(trigger_name, '') = coalesce($1, '') order by scheduled_at`,
    [triggerName],
  );
  return rows;
}

beforeEach(async () => {
  for (const name of ['daily', 'other', 'plain', 'gone']) await api.query('delete_event_trigger', { name });
  await api.pool.query('delete from event_triggers.event_invocation_logs');
  await api.pool.query('delete from event_triggers.event_log');
  await api.pool.query('delete from event_triggers.event_log_cleanups');
  await registry.reload();
});

describe('scheduling', () => {
  test('the next occurrence of each active schedule is scheduled once, however many daemons tick', async () => {
    await createTrigger('daily');
    await createTrigger('other', { schedule: '*/15 * * * *', paused: true });
    await createTrigger('plain', null);
    const before = new Date();
    const [a, b] = [scheduler(await liveInstance(), CLEANUP), scheduler(await liveInstance(), CLEANUP)];
    await Promise.all([a.tick(), b.tick(), a.tick()]);
    const { rows } = await api.pool.query(
      'select trigger_name, scheduled_at, status from event_triggers.event_log_cleanups order by trigger_name nulls first',
    );
    // The default's run (null) and daily's; none for a paused cleanup, none for a trigger without one.
    expect(rows).toEqual([
      { trigger_name: null, scheduled_at: nextOccurrence(CLEANUP.schedule, before), status: 'scheduled' },
      { trigger_name: 'daily', scheduled_at: nextOccurrence(CLEANUP.schedule, before), status: 'scheduled' },
    ]);
  });
});

describe('scheduling, whatever was stored', () => {
  test('a schedule edited by hand into one that does not parse stops only its own cleanups', async () => {
    await createTrigger('daily');
    await createTrigger('other');
    await api.pool.query(
      `update event_triggers.event_triggers set definition = jsonb_set(definition, '{cleanup_config,schedule}', '"every day"')
       where name = 'other'`,
    );
    await registry.reload();
    await scheduler(await liveInstance()).tick();
    const { rows } = await api.pool.query('select trigger_name from event_triggers.event_log_cleanups');
    expect(rows).toEqual([{ trigger_name: 'daily' }]);
  });
});

describe('running', () => {
  test('a due run is run by exactly one of the daemons that tick at once, counted as its batches commit', async () => {
    await createTrigger('daily');
    await seedSettled('daily', 5);
    await seedSettled('daily', 3, 1); // younger than clear_older_than
    await scheduleRun('daily', 1);
    const ids = [await liveInstance(), await liveInstance(), await liveInstance()];
    await Promise.all(ids.map((id) => scheduler(id).tick()));
    const [run] = (await runs('daily')).filter((r) => r.status !== 'scheduled');
    expect(run).toMatchObject({ status: 'completed', deleted_event_logs: 5, deleted_event_invocation_logs: 5, error: null });
    expect(ids).toContain(run.run_by);
    expect(await eventsOf('daily')).toBe(3);
    // Run again, there is nothing left to claim.
    await Promise.all(ids.map((id) => scheduler(id).tick()));
    expect((await runs('daily')).filter((r) => r.status === 'completed')).toHaveLength(1);
  });

  test('missed runs collapse into one: the latest due runs, the earlier are dead', async () => {
    await createTrigger('daily');
    await seedSettled('daily', 4);
    for (const hoursAgo of [72, 48, 24]) await scheduleRun('daily', hoursAgo);
    await scheduler(await liveInstance()).tick();
    const done = await runs('daily');
    expect(done.map((r) => r.status)).toEqual(['dead', 'dead', 'completed', 'scheduled']);
    expect(done[2]).toMatchObject({ deleted_event_logs: 4 });
    expect(done[0]).toMatchObject({ deleted_event_logs: null });
  });

  test('the run of a daemon that went away is taken over and finished, its counts kept; a live daemon keeps its own', async () => {
    await createTrigger('daily');
    await createTrigger('other');
    await seedSettled('daily', 3);
    await seedSettled('other', 3);
    const orphan = await scheduleRun('daily', 1, 'running', randomUUID());
    await api.pool.query('update event_triggers.event_log_cleanups set deleted_event_logs = 10 where id = $1', [orphan]);
    const busy = await liveInstance();
    await scheduleRun('other', 1, 'running', busy);
    const me = await liveInstance();
    await scheduler(me).tick();
    expect((await runs('daily'))[0]).toMatchObject({ status: 'completed', run_by: me, deleted_event_logs: 13 });
    // Not taken from a live daemon, and no second run of that trigger meanwhile.
    await scheduleRun('other', 0.5);
    await scheduler(me).tick();
    expect((await runs('other')).slice(0, 2).map((r) => [r.status, r.run_by])).toEqual([
      ['running', busy],
      ['scheduled', null],
    ]);
    expect(await eventsOf('other')).toBe(3);
  });

  test('a run due while its cleanup is paused is recorded as paused and deletes nothing; so is one whose trigger is gone', async () => {
    await createTrigger('daily', { paused: true });
    await createTrigger('gone');
    await seedSettled('daily', 2);
    await scheduleRun('daily', 1);
    await scheduleRun('gone', 1);
    await api.query('delete_event_trigger', { name: 'gone' });
    // A stale run, as a daemon that had not reloaded yet could have scheduled it.
    await scheduleRun('gone', 0.5);
    await registry.reload();
    await scheduler(await liveInstance()).tick();
    expect((await runs('daily'))[0]).toMatchObject({ status: 'paused', deleted_event_logs: null });
    expect(await eventsOf('daily')).toBe(2);
    expect((await runs('gone')).map((r) => r.status)).toEqual(['dead']);
    expect((await runs('gone'))[0].error).toMatch(/has been deleted/);
  });

  test("the default cleans what no cleanup_config covers, a deleted trigger's archived events included", async () => {
    await createTrigger('daily', { clear_older_than: 1000 });
    await createTrigger('plain', null);
    await createTrigger('gone', null);
    await seedSettled('daily', 2);
    await seedSettled('plain', 3);
    await seedSettled('plain', 2, 1);
    await api.query('delete_event_trigger', { name: 'gone' });
    await seedSettled('gone', 4, 48, true);
    await registry.reload();
    await scheduleRun(null, 1);
    // A daemon without the default leaves the default's run alone.
    await scheduler(await liveInstance()).tick();
    expect((await runs(null))[0].status).toBe('scheduled');
    await scheduler(await liveInstance(), { ...CLEANUP, clean_invocation_logs: false }).tick();
    expect((await runs(null))[0]).toMatchObject({ status: 'completed', deleted_event_logs: 7, deleted_event_invocation_logs: 0 });
    expect([await eventsOf('daily'), await eventsOf('plain'), await eventsOf('gone')]).toEqual([2, 2, 0]);
  });

  test('stopping hands the run back for the next daemon', async () => {
    await createTrigger('daily');
    await seedSettled('daily', 2);
    await scheduleRun('daily', 1);
    const first = scheduler(await liveInstance());
    first.start();
    await first.stop();
    // Stopped before or after its first tick: either way no run is left running.
    const states = (await runs('daily')).map((r) => r.status);
    expect(states).not.toContain('running');
    await scheduler(await liveInstance()).tick();
    expect(await eventsOf('daily')).toBe(0);
  });
});

test('a daemon runs its scheduler: a run due when it starts is done by its first tick, with DEFAULT_CLEANUP_CONFIG', async () => {
  const database = await openTestDatabase();
  try {
    const pool = createPool({ connectionString: database.db.url, max: 2, applicationName: 'test', log });
    await migrate(pool, 'event_triggers');
    await pool.end();
    // Archived events of a trigger deleted long ago, and the default's run, due an hour ago.
    await database.pool.query(
      `insert into event_triggers.event_log (schema_name, table_name, trigger_name, payload, archived, created_at)
       select 'public', 'orders', 'deleted_long_ago', '{}', true, now() - interval '30 days' from generate_series(1, 3)`,
    );
    await database.pool.query(
      "insert into event_triggers.event_log_cleanups (trigger_name, scheduled_at, status) values (null, now() - interval '1 hour', 'scheduled')",
    );
    const daemon = await startTestDaemon(database.db.url, {
      env: { DEFAULT_CLEANUP_CONFIG: JSON.stringify({ schedule: '0 3 * * *', clear_older_than: 24 }) },
    });
    try {
      const done = await eventually(async () => {
        const { rows } = await database.pool.query(
          "select deleted_event_logs from event_triggers.event_log_cleanups where status = 'completed'",
        );
        return rows[0];
      }, 10_000);
      expect(done).toEqual({ deleted_event_logs: 3 });
      // And the next occurrence is scheduled.
      const next = await database.pool.query("select scheduled_at from event_triggers.event_log_cleanups where status = 'scheduled'");
      expect(next.rows.map((r) => r.scheduled_at)).toEqual([nextOccurrence('0 3 * * *', new Date())]);
    } finally {
      await daemon.stop();
    }
  } finally {
    await database.close();
  }
});
