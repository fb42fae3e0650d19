/**
 * Catalog upgrades: a catalog left at an older migration, with capture installed by that version, is
 * upgraded in place by the daemon's migrate(), and the capture already installed takes the new rules.
 */
import pg from 'pg';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { migrate } from '../../src/db/migrate.js';
import { migrations } from '../../src/sql/migrations/index.js';
import { withSchema } from '../../src/sql/schemaText.js';
import { recordNotifications } from '../support/notifications.js';
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
