/**
 * The fetch's plan before and after migration 4 (event_log_due), by EXPLAIN (ANALYZE, BUFFERS) of a claim
 * of 100 events on a real PostgreSQL: 20,000 events nobody can take (10,000 locked by a daemon, retries
 * waiting in its memory; 10,000 parked, due in an hour) created before 100 due ones, behind a history of
 * 200,000 delivered events (without one, a table this small is read whole, whatever the index).
 *
 *   npm run build && node dist/bench/claimPlan.js      (BENCH_DATABASE_URL, or an embedded PostgreSQL)
 *
 * Two layouts: "fresh", rows inserted as they are and vacuumed; "churned", rows inserted due and then
 * locked or parked by updates, not vacuumed (what a daemon leaves behind between autovacuums): the index
 * still points at their old versions. Each claim runs in a transaction that is rolled back, once to warm
 * the cache and kill dead index entries (as any earlier fetch would), then explained.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { migrations } from '../src/sql/migrations/index.js';
import { deliveryStatements } from '../src/sql/deliveryStatements.js';
import { withSchema } from '../src/sql/schemaText.js';
import { provisionBenchPostgres } from './postgres.js';

const SCHEMA = 'event_triggers';
const BLOCKED = 20_000;
const DUE = 100;
const HISTORY = 200_000;

/** claimDue as it was before migration 4: the oldest undelivered first, by created_at (no redeliveries yet). */
function claimBefore(): string {
  const after = deliveryStatements(SCHEMA).claimDue.text;
  const before = after
    .replace('and coalesce(next_retry_at, created_at) <= now()', 'and (next_retry_at is null or next_retry_at <= now())')
    .replace('order by coalesce(next_retry_at, created_at)', 'order by created_at')
    .replace(' e.redeliveries,', '');
  if (before.includes('coalesce') || before.includes('redeliveries')) throw new Error('claimPlan: claimDue changed; update claimBefore()');
  return before;
}

async function migrateTo(client: pg.Client, version: number): Promise<void> {
  await client.query(withSchema('create schema if not exists :SCHEMA', SCHEMA));
  for (const m of migrations.filter((m) => m.version <= version)) await client.query(withSchema(m.sql, SCHEMA));
}

async function seed(client: pg.Client, layout: 'fresh' | 'churned'): Promise<void> {
  const daemon = randomUUID();
  await client.query(
    withSchema(
      `insert into :SCHEMA.event_log (schema_name, table_name, trigger_name, payload, created_at, delivered, tries)
       select 'public', 'orders', 'orders', '{"op":"INSERT","data":{"new":{}}}',
              now() - interval '1 day' + g * interval '1 millisecond', true, 1
       from generate_series(1, $1::int) g`,
      SCHEMA,
    ),
    [HISTORY],
  );
  const insert = (where: string) =>
    client.query(
      withSchema(
        `insert into :SCHEMA.event_log
           (schema_name, table_name, trigger_name, payload, created_at, locked_by, locked_at, next_retry_at, tries)
         select 'public', 'orders', 'orders',
                jsonb_build_object('op', 'INSERT', 'data', jsonb_build_object('new', jsonb_build_object('id', g))),
                now() - interval '1 hour' + g * interval '1 millisecond', ${where}
         from generate_series($1::int, $2::int) g`,
        SCHEMA,
      ),
      [1, BLOCKED],
    );
  if (layout === 'fresh') {
    // Half locked by a live daemon (waiting in its memory), half parked for an hour.
    await insert(`case when g % 2 = 0 then '${daemon}'::uuid end, case when g % 2 = 0 then now() end, now() + interval '1 hour', 1`);
  } else {
    await insert('null, null, null, 0');
    const lock = `update :SCHEMA.event_log
      set locked_by = $1, locked_at = now(), next_retry_at = now() + interval '1 minute', tries = 1
      where (payload->'data'->'new'->>'id')::int % 2 = 0`;
    await client.query(withSchema(lock, SCHEMA), [daemon]);
    const park = `update :SCHEMA.event_log set next_retry_at = now() + interval '1 hour', tries = 1 where locked_by is null`;
    await client.query(withSchema(park, SCHEMA));
  }
  await client.query(
    withSchema(
      `insert into :SCHEMA.event_log (schema_name, table_name, trigger_name, payload)
       select 'public', 'orders', 'orders', '{"op":"INSERT","data":{"new":{}}}' from generate_series(1, $1::int)`,
      SCHEMA,
    ),
    [DUE],
  );
  if (layout === 'fresh') await client.query(withSchema('vacuum analyze :SCHEMA.event_log', SCHEMA));
  else await client.query(withSchema('analyze :SCHEMA.event_log', SCHEMA));
}

async function explain(client: pg.Client, text: string): Promise<string> {
  const values = [randomUUID(), DUE];
  await client.query('begin');
  await client.query(text, values);
  await client.query('rollback');
  await client.query('begin');
  const { rows } = await client.query<{ 'QUERY PLAN': string }>(`explain (analyze, buffers, costs off) ${text}`, values);
  await client.query('rollback');
  return rows.map((r) => r['QUERY PLAN']).join('\n');
}

async function main(): Promise<void> {
  const server = await provisionBenchPostgres(process.env.BENCH_DATABASE_URL);
  try {
    console.log(`PostgreSQL ${server.version} (${server.kind})`);
    for (const layout of ['fresh', 'churned'] as const) {
      for (const version of [3, 4]) {
        const client = new pg.Client({ connectionString: await server.createDatabase(`claim_plan_${layout}_${version}`) });
        await client.connect();
        try {
          await migrateTo(client, version);
          // Autovacuum would tidy the churned layout behind our back.
          await client.query(withSchema('alter table :SCHEMA.event_log set (autovacuum_enabled = false)', SCHEMA));
          await seed(client, layout);
          const text = version === 3 ? claimBefore() : deliveryStatements(SCHEMA).claimDue.text;
          console.log(`\n== ${layout}, ${version === 3 ? 'before (event_log_pending)' : 'after (event_log_due)'} ==`);
          console.log(await explain(client, text));
        } finally {
          await client.end();
        }
      }
    }
  } finally {
    await server.stop();
  }
}

await main();
