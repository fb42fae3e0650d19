/**
 * Catalog upgrades: a catalog left at an older migration, with capture installed by that version, is
 * upgraded in place by the daemon's migrate(), and the capture already installed takes the new rules.
 * Daemons that start at once on a new catalog apply each migration once between them (advisory lock).
 */
import pg from 'pg';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { migrate } from '../../src/db/migrate.js';
import { migrations } from '../../src/sql/migrations/index.js';
import { withSchema } from '../../src/sql/schemaText.js';
import { eventually } from '../support/daemonHarness.js';
import { spawnDaemon, type DaemonProcess } from '../support/daemonProcess.js';
import { recordNotifications } from '../support/notifications.js';
import { healthStatus, logEntries } from '../support/reliability.js';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase.js';

let db: TestDatabase;
let pool: pg.Pool;

beforeAll(async () => {
  db = await createTestDatabase();
  pool = new pg.Pool({ connectionString: db.url, max: 4 });
});
afterAll(async () => {
  await pool?.end();
  await db?.drop();
});

/** Applies migrations up to `version` by hand, as a daemon of that version would have. */
async function migrateTo(schema: string, version: number): Promise<void> {
  await pool.query(withSchema('create schema :SCHEMA', schema));
  await pool.query(withSchema('create table :SCHEMA.migrations (version integer primary key, name text not null, applied_at timestamptz not null default now())', schema));
  for (const m of migrations.filter((m) => m.version <= version)) {
    await pool.query(withSchema(m.sql, schema));
    await pool.query(withSchema('insert into :SCHEMA.migrations (version, name) values ($1, $2)', schema), [m.version, m.name]);
  }
}

test('migration 3 turns the NOTIFY of capture installed by version 2 into wake_listeners', async () => {
  const schema = 'upgraded';
  await migrateTo(schema, 2);
  // A payload column named like the line the migration rewrites must come through untouched.
  const oddColumn = "PERFORM pg_notify('x', '');";
  await pool.query(`create table legacy (id int primary key, ${pg.escapeIdentifier(oddColumn)} text)`);
  await pool.query(withSchema("select :SCHEMA.install_capture('legacy_ev', 'legacy'::regclass, 'INSERT', null, $1, 'upgraded_events', false)", schema), [
    ['id', oddColumn],
  ]);
  const body = async () =>
    (await pool.query<{ src: string }>(`select prosrc as src from pg_proc where proname = 'pget_legacy_ev_INSERT'`)).rows[0]!.src;
  expect(await body()).toMatch(/^\s*PERFORM pg_notify\('upgraded_events', ''\);$/m);

  expect(await migrate(pool, schema)).toMatchObject({ applied: migrations.filter((m) => m.version > 2).map((m) => m.version) });
  expect(await body()).toMatch(/^\s*PERFORM "?upgraded"?\.wake_listeners\('upgraded_events', ''\);$/m);
  expect(await body()).not.toMatch(/^\s*PERFORM pg_notify/m);
  expect(await body()).toContain("PERFORM pg_notify(''x'', '''');"); // the column name, in its literal

  // The upgraded capture still records the event, and sends NOTIFY only while someone holds the lock.
  const listener = await pool.connect();
  const sleeper = await pool.connect();
  const heard = recordNotifications(listener, 'upgraded_events');
  await listener.query('listen upgraded_events');
  try {
    await pool.query("insert into legacy values (1, 'a')");
    expect(await heard.settled(pool)).toEqual([]);
    await sleeper.query(withSchema('select pg_advisory_lock(:SCHEMA.wake_lock_class(), 0)', schema));
    await pool.query("insert into legacy values (2, 'b')");
    expect(await heard.settled(pool)).toEqual([{ channel: 'upgraded_events', payload: '' }]);
    const { rows } = await pool.query(withSchema("select payload->'data'->'new' as new from :SCHEMA.event_log order by created_at", schema));
    expect(rows.map((r) => r.new)).toEqual([{ id: 1, [oddColumn]: 'a' }, { id: 2, [oddColumn]: 'b' }]);
  } finally {
    await sleeper.query('select pg_advisory_unlock_all()');
    sleeper.release();
    await listener.query('unlisten *');
    heard.stop();
    listener.release();
  }
});

test('three daemons migrating a new catalog at once: each migration is applied exactly once, by one of them, and all three run', async () => {
  const schema = 'raced';
  // Hold the advisory lock migrate() takes for this catalog, so that all three daemons reach it and wait:
  // let go, they race for it at the same moment.
  const holder = await pool.connect();
  const daemons: DaemonProcess[] = [];
  try {
    await holder.query('select pg_advisory_lock(hashtext($1))', [`pg-event-triggers:migrate:${schema}`]);
    const starting = [1, 2, 3].map(() => spawnDaemon({ DATABASE_URL: db.url, EVENT_TRIGGERS_SCHEMA: schema }));
    starting.forEach((s) => void s.then((d) => daemons.push(d), () => undefined));
    await eventually(async () => {
      const { rows } = await pool.query(
        `select count(*)::int as n from pg_locks where locktype = 'advisory' and not granted
         and database = (select oid from pg_database where datname = current_database())`,
      );
      return rows[0].n === 3;
    }, 20_000, 'three daemons waiting to migrate');
    await holder.query('select pg_advisory_unlock_all()');
    await Promise.all(starting);

    const { rows } = await pool.query(withSchema('select version from :SCHEMA.migrations order by version', schema));
    expect(rows.map((r) => r.version)).toEqual(migrations.map((m) => m.version));
    // Who applied what, from their logs: every migration once, all of them by a single daemon.
    const applied = daemons.map((d) =>
      logEntries(d).filter((e) => e.msg === 'applied catalog migration').map((e) => e.migration as number),
    );
    expect(applied.flat().sort((a, b) => a - b)).toEqual(migrations.map((m) => m.version));
    expect(applied.filter((versions) => versions.length > 0)).toHaveLength(1);
    for (const d of daemons) expect(await healthStatus(d.url)).toBe(200);
  } finally {
    holder.release();
    for (const d of daemons) await d.kill('SIGTERM');
  }
});
