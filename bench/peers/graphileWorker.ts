/**
 * The peer: graphile-worker doing our job the way a Node.js team would build it themselves. A row
 * trigger calls graphile_worker.add_job per row with a payload of the same shape as ours; a task POSTs
 * it to the webhook with undici at the same concurrency, and fails (so graphile-worker retries) on a
 * non-2xx answer.
 *
 * This file is both the set-up (imported by the benchmark) and the worker process (run as its own
 * process, like our daemon): `node graphileWorker.js` with GW_* variables.
 */
import pg from 'pg';
import { Pool } from 'undici';
import { fileURLToPath } from 'node:url';
import { Logger, run, runMigrations } from 'graphile-worker';

export const PEER_CONFIGS = {
  /** Its defaults, with only concurrency and pool size set as its docs tell (concurrency + 2). */
  default: {},
  /** Its fastest documented mode: a local queue of prefetched jobs and batched completions. */
  tuned: { localQueue: { size: 500 }, completeJobBatchDelay: 0 },
} as const;
export type PeerConfigName = keyof typeof PEER_CONFIGS;

/** Installs graphile-worker's schema and a trigger that queues one job per inserted row. */
export async function installPeer(databaseUrl: string, table: string): Promise<void> {
  await runMigrations({ connectionString: databaseUrl, logger: quietLogger() });
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query(`
      create or replace function public.bench_enqueue_delivery() returns trigger language plpgsql as $$
      begin
        perform graphile_worker.add_job('deliver', jsonb_build_object(
          'id', gen_random_uuid(),
          'created_at', now(),
          'trigger', jsonb_build_object('name', 'bench'),
          'table', jsonb_build_object('schema', TG_TABLE_SCHEMA, 'name', TG_TABLE_NAME),
          'event', jsonb_build_object('op', TG_OP, 'data', jsonb_build_object('old', null, 'new', to_jsonb(NEW)))
        )::json);
        return null;
      end $$`);
    await client.query(`drop trigger if exists bench_graphile_worker on public.${table}`);
    await client.query(
      `create trigger bench_graphile_worker after insert on public.${table} for each row execute function public.bench_enqueue_delivery()`,
    );
  } finally {
    await client.end();
  }
}

export async function removePeer(databaseUrl: string, table: string): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query(`drop trigger if exists bench_graphile_worker on public.${table}`);
    await client.query(`truncate graphile_worker._private_jobs`);
  } finally {
    await client.end();
  }
}

/** graphile-worker's warnings and errors on stderr; nothing else. */
function quietLogger(): Logger {
  return new Logger(() => (level, message) => {
    if (String(level) === 'error' || String(level) === 'warning') process.stderr.write(`graphile-worker ${level}: ${message}\n`);
  });
}

async function main() {
  const databaseUrl = process.env.GW_DATABASE_URL!;
  const concurrency = Number(process.env.GW_CONCURRENCY ?? 100);
  const config = PEER_CONFIGS[(process.env.GW_CONFIG ?? 'default') as PeerConfigName];
  const webhook = new URL(process.env.GW_WEBHOOK_URL!);
  const http = new Pool(webhook.origin, { connections: concurrency });

  const runner = await run({
    connectionString: databaseUrl,
    concurrency,
    maxPoolSize: concurrency + 2,
    noHandleSignals: false,
    logger: quietLogger(),
    preset: { worker: { ...config } },
    taskList: {
      deliver: async (payload) => {
        const response = await http.request({
          path: webhook.pathname,
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(payload),
        });
        await response.body.dump();
        if (response.statusCode < 200 || response.statusCode > 299) throw new Error(`webhook answered ${response.statusCode}`);
      },
    },
  });
  process.stdout.write(JSON.stringify({ msg: 'graphile-worker is running' }) + '\n');
  await runner.promise;
  await http.close();
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((error) => {
    process.stderr.write(`${(error as Error).stack}\n`);
    process.exit(1);
  });
}
