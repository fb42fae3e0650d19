/**
 * The database's gauges on their own: the one statement a scrape runs reads event_log only through its
 * index of unclaimed events (never a scan of the table) and cuts its counts off at the limit it is given;
 * a database that does not answer makes pg_event_triggers_database_up 0 and leaves the database's gauges
 * out, instead of reporting stale values.
 */
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { migrate } from '../../src/db/migrate.js';
import { MetricsRegistry } from '../../src/metrics/metricsRegistry.js';
import { flowStatements, type GaugeRow } from '../../src/sql/flowStatements.js';
import { openTestDatabase } from '../support/daemonHarness.js';
import { Scrape } from '../support/metricsScrape.js';
import { freePort } from '../support/ports.js';

const log = pino({ level: 'silent' });
let database: Awaited<ReturnType<typeof openTestDatabase>>;
const sql = flowStatements('event_triggers');

beforeAll(async () => {
  database = await openTestDatabase();
  await migrate(database.pool, 'event_triggers');
  // Two triggers' catalog rows and events, written as capture and the recorder leave them.
  for (const name of ['alpha', 'beta']) {
    await database.pool.query(
      `insert into event_triggers.event_triggers (name, schema_name, table_name, table_oid, definition)
       values ($1, 'public', $1, 0, jsonb_build_object('name', $1::text, 'webhook', 'http://127.0.0.1:9/' || $1))`,
      [name],
    );
  }
  const event = `insert into event_triggers.event_log (schema_name, table_name, trigger_name, payload, next_retry_at, created_at)
    select 'public', $1, $1, '{}', $2::timestamptz, $3::timestamptz from generate_series(1, $4::int)`;
  await database.pool.query(event, ['alpha', null, new Date(Date.now() - 90_000), 5]); // due for 90 s
  await database.pool.query(event, ['alpha', new Date(Date.now() + 3_600_000), new Date(), 2]); // parked for an hour
  await database.pool.query(event, ['beta', null, new Date(), 1]);
  await database.pool.query("update event_triggers.event_log set delivered = true where trigger_name = 'beta'");
});
afterAll(() => database?.close());

test('counts are cut off at the limit given; the oldest due is its age; a trigger with nothing waiting reads 0', async () => {
  const { rows } = await database.pool.query<GaugeRow>({ ...sql.gauges, values: [3, 30_000] });
  const alpha = rows.find((r) => r.name === 'alpha')!;
  expect(alpha.pending).toBe(3);
  expect(alpha.parked).toBe(2);
  expect(alpha.oldest_due_seconds).toBeGreaterThanOrEqual(90);
  expect(alpha.oldest_due_seconds).toBeLessThan(150);
  expect(alpha.circuit_state).toBe('closed');
  const beta = rows.find((r) => r.name === 'beta')!;
  expect([beta.pending, beta.parked, beta.oldest_due_seconds]).toEqual([0, 0, null]);
  expect(rows.every((r) => r.daemons_alive === 0)).toBe(true);
});

test('event_log is read through event_log_due_by_trigger alone: no scan of the table, however large', async () => {
  const client = await database.pool.connect();
  try {
    // Planned as with a large table: sequential scans priced out, so any path that has to read the table shows.
    await client.query('begin');
    await client.query('set local enable_seqscan = off');
    const { rows } = await client.query<{ 'QUERY PLAN': string }>(
      `explain ${sql.gauges.text.replaceAll('$1::int', '100000').replaceAll('$2::int', '30000')}`,
    );
    await client.query('rollback');
    const plan = rows.map((r) => r['QUERY PLAN']).join('\n');
    const scans = [
      ...plan.matchAll(/(?:Seq Scan|Index Only Scan|Index Scan|Bitmap Heap Scan)(?: Backward)?(?: using (\w+))? on event_log/g),
    ];
    expect(scans.length, plan).toBe(3);
    for (const scan of scans) expect(scan[1], plan).toBe('event_log_due_by_trigger');
  } finally {
    client.release();
  }
});

test('a database that does not answer: database_up 0, and no stale gauges of the database', async () => {
  const port = await freePort();
  const pool = new pg.Pool({ connectionString: `postgres://nobody:nothing@127.0.0.1:${port}/none`, connectionTimeoutMillis: 2000 });
  const metrics = new MetricsRegistry({
    pool,
    poolSize: 10,
    schema: 'event_triggers',
    sourceName: 'default',
    heartbeatTimeoutMs: 30_000,
    log,
  });
  try {
    const down = new Scrape(await metrics.render());
    expect(down.value('pg_event_triggers_database_up')).toBe(0);
    expect(down.find('pg_event_triggers_pending_events')).toEqual([]);
    expect(down.find('pg_event_triggers_circuit_state')).toEqual([]);
    // Hasura's metrics are this daemon's own: still served.
    expect(down.families.get('hasura_event_invocations_total')?.type).toBe('COUNTER');
  } finally {
    await pool.end();
  }

  const up = new MetricsRegistry({
    pool: database.pool,
    poolSize: 8,
    schema: 'event_triggers',
    sourceName: 'crm',
    heartbeatTimeoutMs: 30_000,
    log,
  });
  const scrape = new Scrape(await up.render());
  expect(scrape.value('pg_event_triggers_database_up')).toBe(1);
  expect(scrape.value('pg_event_triggers_pending_events', { trigger_name: 'alpha', source_name: 'crm' })).toBe(5);
  expect(scrape.value('pg_event_triggers_parked_retry_events', { trigger_name: 'alpha', source_name: 'crm' })).toBe(2);
  expect(scrape.value('pg_event_triggers_pending_events', { trigger_name: 'beta', source_name: 'crm' })).toBe(0);
});
