/**
 * What a cleanup of a large event log costs the application's writes: single-row inserts per second into
 * a captured table (each one also writes its event), with no cleanup running, then while
 * cleanup_event_trigger_logs deletes CLEANUP_ROWS settled events and their invocation logs (Hasura's
 * defaults: batches of 10,000, each in its own transaction), then without again.
 *
 *   npm run build && node dist/bench/cleanupImpact.js    (BENCH_DATABASE_URL, or an embedded PostgreSQL)
 *
 * Settings (environment): CLEANUP_ROWS (1,000,000), WRITERS (2 connections), WINDOW_S (15 s per baseline).
 * Each insert's latency is kept too: "never blocks capture for long" is about the worst insert, not only
 * the rate. Nothing delivers meanwhile (no daemon): what is measured is capture against the cleanup.
 */
import pg from 'pg';
import { pino } from 'pino';
import { createOperationContext } from '../src/api/operations/context.js';
import { runQuery } from '../src/api/operations/index.js';
import { migrate } from '../src/db/migrate.js';
import { createPool } from '../src/db/pool.js';
import { provisionBenchPostgres } from './postgres.js';

const ROWS = Number(process.env.CLEANUP_ROWS ?? 1_000_000);
const WRITERS = Number(process.env.WRITERS ?? 2);
const WINDOW_MS = Number(process.env.WINDOW_S ?? 15) * 1000;
const TRIGGER = 'bench_cleanup';

interface Window {
  inserts: number;
  ms: number;
  latencies: number[];
}

/** WRITERS connections inserting one row per transaction until stop() resolves. */
async function insertUntil(url: string, stop: Promise<unknown>): Promise<Window> {
  let done = false;
  void stop.then(() => (done = true));
  const latencies: number[] = [];
  const began = performance.now();
  await Promise.all(
    Array.from({ length: WRITERS }, async () => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        while (!done) {
          const t = performance.now();
          await client.query({ name: 'insert', text: 'insert into public.orders (total) values ($1)', values: [42] });
          latencies.push(performance.now() - t);
        }
      } finally {
        await client.end();
      }
    }),
  );
  return { inserts: latencies.length, ms: performance.now() - began, latencies };
}

function describe(label: string, w: Window): string {
  const sorted = [...w.latencies].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!.toFixed(2);
  const rate = Math.round((w.inserts / w.ms) * 1000);
  return `${label.padEnd(26)} ${String(rate).padStart(6)} inserts/s over ${(w.ms / 1000).toFixed(1)} s; latency ms p50 ${at(0.5)}, p99 ${at(0.99)}, max ${sorted.at(-1)!.toFixed(1)}`;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function main() {
  const postgres = await provisionBenchPostgres(process.env.BENCH_DATABASE_URL);
  const url = await postgres.createDatabase('pget_cleanup_bench');
  const log = pino({ level: 'silent' });
  const pool = createPool({ connectionString: url, max: 4, applicationName: 'cleanup-bench', log });
  try {
    await migrate(pool, 'event_triggers');
    await pool.query('create table public.orders (id bigserial primary key, total numeric)');
    const ctx = createOperationContext({ pool, schema: 'event_triggers', sourceName: 'default', heartbeatTimeoutMs: 30_000, log });
    await runQuery(ctx, {
      type: 'create_event_trigger',
      args: { name: TRIGGER, table: 'orders', webhook: 'http://127.0.0.1:9/', insert: { columns: '*' } },
    });
    process.stderr.write(`PostgreSQL ${postgres.version} (${postgres.kind}); seeding ${ROWS} settled events with an invocation log each\n`);
    // Two days old, delivered, each with the invocation log a delivery writes: what a cleanup finds.
    await pool.query(
      `insert into event_triggers.event_log (schema_name, table_name, trigger_name, payload, delivered, tries, created_at)
       select 'public', 'orders', $1, jsonb_build_object('op', 'INSERT', 'data', jsonb_build_object('old', null, 'new',
              jsonb_build_object('id', g, 'total', 42))), true, 1, now() - interval '2 days' + g * interval '1 millisecond'
       from generate_series(1, $2::int) g`,
      [TRIGGER, ROWS],
    );
    await pool.query(
      `insert into event_triggers.event_invocation_logs (event_id, trigger_name, status, request, response)
       select id, trigger_name, 200, '{"payload": {}, "headers": [], "version": "2"}',
              '{"type": "webhook_response", "data": {"status": 200, "body": "{\\"ok\\":true}"}, "version": "2"}'
       from event_triggers.event_log`,
    );
    await pool.query('vacuum analyze event_triggers.event_log');
    await pool.query('vacuum analyze event_triggers.event_invocation_logs');

    const before = await insertUntil(url, sleep(WINDOW_MS));
    process.stderr.write(`${describe('no cleanup', before)}\n`);

    const began = performance.now();
    const cleanup = runQuery(ctx, {
      type: 'cleanup_event_trigger_logs',
      args: { event_trigger_name: TRIGGER, clear_older_than: 24, clean_invocation_logs: true },
    });
    const during = await insertUntil(url, cleanup);
    const cleanupMs = performance.now() - began;
    const deleted = (await cleanup) as { deleted_event_logs: number; deleted_event_invocation_logs: number };
    process.stderr.write(`${describe('during the cleanup', during)}\n`);
    process.stderr.write(
      `cleanup: ${deleted.deleted_event_logs} events and ${deleted.deleted_event_invocation_logs} invocation logs in ` +
        `${(cleanupMs / 1000).toFixed(1)} s (${Math.round(deleted.deleted_event_logs / (cleanupMs / 1000))} events/s)\n`,
    );

    const after = await insertUntil(url, sleep(WINDOW_MS));
    process.stderr.write(`${describe('no cleanup, after', after)}\n`);
    const baseline = (before.inserts / before.ms + after.inserts / after.ms) / 2;
    process.stderr.write(`during / mean of the baselines: ${((during.inserts / during.ms / baseline) * 100).toFixed(0)} %\n`);
  } finally {
    await pool.end();
    await postgres.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${String((error as Error).stack ?? error)}\n`);
  process.exitCode = 1;
});
