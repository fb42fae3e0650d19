/**
 * The statements that find the events a daemon holds (the takeover of a gone daemon's events, a drain's
 * release of all it holds) read them through the one index of held events (event_log_held_by_trigger,
 * migration 12), never by scanning event_log, however many settled events it has: on a busy database
 * that is millions, and the takeover runs every few seconds.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { migrate } from '../../src/db/migrate.js';
import { deliveryStatements } from '../../src/sql/deliveryStatements.js';
import { openTestDatabase } from '../support/daemonHarness.js';
import { indexes, PLAN_MODES, preparedPlan, seqScans } from '../support/queryPlans.js';

let database: Awaited<ReturnType<typeof openTestDatabase>>;
const sql = deliveryStatements('event_triggers');

beforeAll(async () => {
  database = await openTestDatabase();
  await migrate(database.pool, 'event_triggers');
});
afterAll(async () => {
  await database?.close();
});

test('the takeover and the release of all a daemon holds read the held events through their index, custom or generic plan', async () => {
  const holder = randomUUID();
  await database.pool.query(
    `insert into event_triggers.event_log (schema_name, table_name, trigger_name, payload, delivered, created_at)
     select 'public', 't', 't' || (g % 5), '{"op":"INSERT"}', true, now() - make_interval(secs => g)
     from generate_series(1, 20000) g`,
  );
  await database.pool.query(
    `insert into event_triggers.event_log (schema_name, table_name, trigger_name, payload, locked_by, locked_at)
     select 'public', 't', 't' || (g % 5), '{"op":"INSERT"}', $1, now() from generate_series(1, 200) g`,
    [holder],
  );
  await database.pool.query('analyze event_triggers.event_log');
  const cases: Array<[string, string, Array<string | number>]> = [
    ['takeOver', sql.takeOver.text, [randomUUID(), 30_000, 1000]],
    ['releaseAll', sql.releaseAll.text, [holder]],
  ];
  const client = await database.pool.connect();
  try {
    for (const mode of PLAN_MODES) {
      for (const [name, text, values] of cases) {
        const plan = await preparedPlan(client, text, values, mode);
        expect(seqScans(plan), `${name} (${mode}) scans`).not.toContain('event_log');
        expect(indexes(plan), `${name} (${mode})`).toContain('event_log_held_by_trigger');
      }
    }
  } finally {
    client.release();
  }
  // And they do what they say: the holder's events are all released.
  const released = await database.pool.query({ ...sql.releaseAll, values: [holder] });
  expect(released.rowCount).toBe(200);
});
