/**
 * The fetch's claim (claimDue, migration 4's event_log_due) on a real PostgreSQL: it takes due events in
 * the order they fell due, and reads only the events nobody holds, however many are locked by daemons or
 * parked for later ahead of them.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { migrate } from '../../src/db/migrate.js';
import { deliveryStatements } from '../../src/sql/deliveryStatements.js';
import { openTestDatabase } from '../support/daemonHarness.js';

let database: Awaited<ReturnType<typeof openTestDatabase>>;
const claimDue = deliveryStatements('event_triggers').claimDue;

beforeAll(async () => {
  database = await openTestDatabase();
  await migrate(database.pool, 'event_triggers');
});
afterAll(async () => {
  await database?.close();
});

const insert = (values: string, count: number) =>
  database.pool.query(
    `insert into event_triggers.event_log
       (schema_name, table_name, trigger_name, payload, created_at, delivered, locked_by, next_retry_at)
     select 'public', 't', 't', jsonb_build_object('n', g), ${values} from generate_series(1, $1::int) g`,
    [count],
  );

test('due events are claimed by due time, past thousands locked or parked ahead of them, reading none of those', async () => {
  // History, then 20,000 nobody can take, all older than the due ones.
  await insert(`now() - interval '2 days' + g * interval '1 ms', true, null, null`, 50_000);
  await insert(`now() - interval '1 day' + g * interval '1 ms', false, '${randomUUID()}', now() + interval '1 minute'`, 10_000);
  await insert(`now() - interval '1 day' + g * interval '1 ms', false, null, now() + interval '1 hour'`, 10_000);
  // Due: 100 new events, and a retry created before them all but due only after the first 50 of them.
  await insert(`now() - interval '1 hour' + g * interval '1 s', false, null, null`, 100);
  await database.pool.query(
    `insert into event_triggers.event_log (schema_name, table_name, trigger_name, payload, created_at, next_retry_at, tries)
     values ('public', 't', 't', '{"n": "retry"}', now() - interval '1 day', now() - interval '1 hour' + interval '50.5 s', 1)`,
  );
  await database.pool.query('vacuum analyze event_triggers.event_log');

  const client = await database.pool.connect();
  try {
    await client.query('begin');
    const { rows } = await client.query(`explain (analyze, buffers, format json) ${claimDue.text}`, [randomUUID(), 101]);
    await client.query('rollback');
    const scans: Array<Record<string, unknown>> = [];
    const walk = (node: Record<string, unknown>) => {
      if (String(node['Node Type']).includes('Scan') && node['Relation Name'] === 'event_log') scans.push(node);
      for (const child of (node.Plans as Array<Record<string, unknown>> | undefined) ?? []) walk(child);
    };
    walk(rows[0]['QUERY PLAN'][0].Plan);
    const due = scans.find((s) => s['Index Name'] !== 'event_log_pkey');
    expect(due).toMatchObject({ 'Node Type': 'Index Scan', 'Index Name': 'event_log_due', 'Actual Rows': 101 });
    expect(due!['Rows Removed by Filter'] ?? 0).toBe(0);
    // Hundreds of buffers before migration 4 (every held event read); a handful now.
    expect(due!['Shared Hit Blocks'] as number).toBeLessThan(50);

    // Claimed by due time, not by creation: the retry, the oldest event of all, falls due after 50 of
    // the new ones.
    const ids = async (n: number) =>
      (await client.query(claimDue.text, [randomUUID(), n])).rows.map((r) => (JSON.parse(r.payload) as { n: unknown }).n);
    expect(new Set(await ids(50))).toEqual(new Set(Array.from({ length: 50 }, (_, i) => i + 1)));
    expect(await ids(1)).toEqual(['retry']);
  } finally {
    client.release();
  }
});
