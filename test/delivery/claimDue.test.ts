/**
 * The fetch's claim (claim_due, migration 7) on a real PostgreSQL: it takes each trigger's due events in
 * the order they fell due, up to the room given for that trigger, and reads only the events nobody holds,
 * however many are locked by daemons or parked for later ahead of them.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { migrate } from '../../src/db/migrate.js';
import { deliveryStatements } from '../../src/sql/deliveryStatements.js';
import { openTestDatabase } from '../support/daemonHarness.js';

let database: Awaited<ReturnType<typeof openTestDatabase>>;
const { claimDue, claimFlowControlled } = deliveryStatements('event_triggers');
/** Each claim's args after the rooms: the probe lease for claim_due. */
const CLAIMS = [
  { name: 'claimDue', text: claimDue.text, extra: [] as number[] },
  { name: 'claimFlowControlled (claim_due)', text: claimFlowControlled.text, extra: [1000] },
];

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

test.each(CLAIMS)(
  '$name: due events are claimed by due time, trigger by trigger, past thousands locked or parked ahead of them, reading none of those',
  async (statement) => {
    await database.pool.query('truncate event_triggers.event_log cascade');
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
    // Another trigger with three due events, newer than all of t's.
    await database.pool.query(
      `insert into event_triggers.event_log (schema_name, table_name, trigger_name, payload)
     select 'public', 'u', 'u', jsonb_build_object('n', 'u' || g) from generate_series(1, 3) g`,
    );
    await database.pool.query('vacuum analyze event_triggers.event_log');

    const client = await database.pool.connect();
    try {
      const claim = async (names: string[], rooms: number[], defaultRoom: number) => {
        const { rows } = await client.query<{ trigger_name: string; payload: string }>(statement.text, [
          randomUUID(),
          names,
          rooms,
          defaultRoom,
          ...statement.extra,
        ]);
        return rows.map((r) => `${r.trigger_name}:${String((JSON.parse(r.payload) as { n: unknown }).n)}`);
      };
      // Blocks of event_log and of its indexes read in this transaction (pg_stat_get_xact_blocks_fetched).
      const blocksRead = async () => {
        const { rows } = await client.query<{ blocks: string }>(
          `select sum(pg_stat_get_xact_blocks_fetched(c.oid)) as blocks from pg_class c
         where c.oid = 'event_triggers.event_log'::regclass
            or c.oid in (select indexrelid from pg_index where indrelid = 'event_triggers.event_log'::regclass)`,
        );
        return Number(rows[0]!.blocks);
      };

      await client.query('begin');
      const before = await blocksRead();
      const first = await claim([], [], 51);
      // 51 of t and all 3 of u: each trigger's room, not the oldest 51 of the table (which are all t's).
      expect(first.filter((c) => c.startsWith('u:')).sort()).toEqual(['u:u1', 'u:u2', 'u:u3']);
      expect(first.filter((c) => c.startsWith('t:'))).toHaveLength(51);
      // Claimed by due time, not by creation: the retry, the oldest event of all, falls due after 50 of
      // the new ones.
      expect(new Set(first.filter((c) => c.startsWith('t:')))).toEqual(
        new Set([...Array.from({ length: 50 }, (_, i) => `t:${i + 1}`), 't:retry']),
      );
      // 20,000 held or parked events and 50,000 settled ones cost nothing. Claiming 54 rows reads about
      // 950-1,050 blocks (the update itself: heap, primary key and the indexes it touches); a scan of the
      // table adds ~1,000 (it did, when the update was a hash join on the claimed ids), and one past the
      // held and parked events ~20,000.
      expect((await blocksRead()) - before).toBeLessThan(1400);
      await client.query('rollback');

      // A room of 0 leaves a trigger alone; a named trigger's room overrides the default.
      await client.query('begin');
      expect(await claim(['t'], [0], 10)).toEqual(expect.arrayContaining(['u:u1', 'u:u2', 'u:u3']));
      expect((await claim(['t', 'u'], [2, 0], 10)).sort()).toEqual(['t:1', 't:2']);
      await client.query('rollback');
    } finally {
      client.release();
    }
  },
);

test('max_in_flight and max_events_per_second hold against daemons claiming at the same moment', async () => {
  await database.pool.query('create table if not exists limited (id int)');
  await database.pool.query(
    `insert into event_triggers.event_triggers (name, schema_name, table_name, table_oid, definition) values
       ('in_flight', 'public', 'limited', 'limited'::regclass, '{"webhook": "http://hook/a", "flow_control": {"max_in_flight": 5}}'),
       ('per_second', 'public', 'limited', 'limited'::regclass, '{"webhook": "http://hook/b", "flow_control": {"max_events_per_second": 30}}')`,
  );
  await database.pool.query(
    `insert into event_triggers.event_log (schema_name, table_name, trigger_name, payload)
     select 'public', 'limited', t, '{}' from generate_series(1, 100), unnest(array['in_flight', 'per_second']) t`,
  );
  // The plain claim leaves flow-limited triggers to claim_due.
  const plain = await database.pool.query<{ trigger_name: string }>(claimDue.text, [randomUUID(), [], [], 20]);
  expect(plain.rows.filter((r) => r.trigger_name === 'in_flight' || r.trigger_name === 'per_second')).toEqual([]);
  // Ten daemons claim at once, each with room for 20 of every trigger.
  const started = performance.now();
  const claims = await Promise.all(
    Array.from({ length: 10 }, async () => {
      const { rows } = await database.pool.query<{ trigger_name: string; note: string | null }>(claimFlowControlled.text, [
        randomUUID(),
        [],
        [],
        20,
        1000,
      ]);
      return rows;
    }),
  );
  const elapsedSeconds = (performance.now() - started) / 1000;
  const rows = claims.flat();
  const claimed = (trigger: string) => rows.filter((r) => r.trigger_name === trigger && r.note === null).length;
  expect(claimed('in_flight')).toBe(5);
  // The bucket starts with a tenth of a second's worth (3 tokens) and refills at 30/s while the claims
  // run (connecting ten clients takes a while): no more than that, summed over every claim.
  expect(claimed('per_second')).toBeGreaterThanOrEqual(3);
  expect(claimed('per_second')).toBeLessThanOrEqual(Math.floor(3 + 30 * elapsedSeconds));
  // The claims that came away short say why: at the limit, or when the next token comes.
  expect(rows.some((r) => r.trigger_name === 'in_flight' && r.note === 'limited')).toBe(true);
  expect(rows.some((r) => r.trigger_name === 'per_second' && r.note === 'throttled')).toBe(true);
  // Settling held events frees room for the next claim.
  await database.pool.query(
    "update event_triggers.event_log set locked_by = null, delivered = true where trigger_name = 'in_flight' and locked_by is not null",
  );
  const next = await database.pool.query<{ trigger_name: string; note: string | null }>(claimFlowControlled.text, [
    randomUUID(),
    ['per_second'],
    [0],
    20,
    1000,
  ]);
  expect(next.rows.filter((r) => r.note === null)).toHaveLength(5);
});
