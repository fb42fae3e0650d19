/**
 * The rows the benchmark writes, and the ways it writes them: single-row transactions from several
 * connections (an OLTP application), 500-row statements (a batch import), and a steady rate with each
 * commit time-stamped (for latency).
 */
import pg from 'pg';
import { performance } from 'node:perf_hooks';

export const TABLE = 'bench_orders';

/** A table shaped like an application's: a few typed columns and some text. */
export const CREATE_TABLE = `
  create table if not exists public.${TABLE} (
    id bigserial primary key,
    customer_id integer not null,
    amount numeric(12, 2) not null,
    status text not null,
    note text not null,
    created_at timestamptz not null default now()
  )`;

/** The isolation scenario's other table, whose trigger's endpoint hangs. */
export const HUNG_TABLE = 'bench_hung_orders';
export const CREATE_HUNG_TABLE = `create table if not exists public.${HUNG_TABLE} (id bigserial primary key, note text not null)`;

/** `count` rows of the hung table in one statement: a backlog for its trigger. */
export async function insertHungBacklog(url: string, count: number): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`insert into public.${HUNG_TABLE} (note) select 'stuck' from generate_series(1, $1::int)`, [count]);
  } finally {
    await client.end();
  }
}

const INSERT_ONE = {
  name: 'bench-insert-one',
  text: `insert into public.${TABLE} (customer_id, amount, status, note) values ($1, $2, 'new', $3) returning id`,
};
const INSERT_BULK = {
  name: 'bench-insert-bulk',
  text: `insert into public.${TABLE} (customer_id, amount, status, note)
         select g, g * 1.25, 'new', $2 from generate_series(1, $1::int) as g`,
};
const NOTE = 'Two crates of oranges, left at the back door; ring twice. '.repeat(2);

export const now = () => performance.timeOrigin + performance.now();

export interface InsertRun {
  /** Epoch ms when the first statement was sent, and when the last commit was acknowledged. */
  startedAt: number;
  finishedAt: number;
}

async function connectAll(url: string, count: number): Promise<pg.Client[]> {
  return Promise.all(
    Array.from({ length: count }, async () => {
      const client = new pg.Client({ connectionString: url });
      // A failed run rejects its query; a connection lost afterwards must not crash the benchmark.
      client.on('error', () => undefined);
      await client.connect();
      return client;
    }),
  );
}

/** `total` single-row transactions (autocommit INSERTs) spread over `connections` connections. */
export async function insertSingleRows(url: string, total: number, connections: number): Promise<InsertRun> {
  const clients = await connectAll(url, connections);
  let next = 0;
  const startedAt = now();
  await Promise.all(
    clients.map(async (client) => {
      while (next < total) {
        const i = next++;
        await client.query({ ...INSERT_ONE, values: [i % 1000, (i % 5000) / 4, NOTE] });
      }
    }),
  );
  const finishedAt = now();
  await Promise.all(clients.map((c) => c.end()));
  return { startedAt, finishedAt };
}

/** `total` rows written by statements of `rowsPerStatement` rows, from `connections` connections. */
export async function insertBulk(url: string, total: number, connections: number, rowsPerStatement = 500): Promise<InsertRun> {
  const clients = await connectAll(url, connections);
  let remaining = total;
  const startedAt = now();
  await Promise.all(
    clients.map(async (client) => {
      while (remaining > 0) {
        const rows = Math.min(rowsPerStatement, remaining);
        remaining -= rows;
        await client.query({ ...INSERT_BULK, values: [rows, NOTE] });
      }
    }),
  );
  const finishedAt = now();
  await Promise.all(clients.map((c) => c.end()));
  return { startedAt, finishedAt };
}

/**
 * Inserts at a steady `ratePerSecond` for `seconds`, one row per transaction, and returns each row's
 * commit time (when the server acknowledged the COMMIT) by id. Inserts are scheduled on a fixed clock,
 * not one after another, so a slow commit does not lower the rate.
 */
export async function insertAtRate(url: string, ratePerSecond: number, seconds: number, connections = 4): Promise<Map<number, number>> {
  const clients = await connectAll(url, connections);
  const idle = [...clients];
  const waiting: Array<(client: pg.Client) => void> = [];
  // One statement per connection at a time: a commit due while every connection is busy waits for one.
  const take = () => (idle.length ? Promise.resolve(idle.pop()!) : new Promise<pg.Client>((resolve) => waiting.push(resolve)));
  const give = (client: pg.Client) => (waiting.length ? waiting.shift()!(client) : idle.push(client));
  const committedAt = new Map<number, number>();
  const total = Math.round(ratePerSecond * seconds);
  const intervalMs = 1000 / ratePerSecond;
  const start = now() + 20;
  const inFlight: Array<Promise<void>> = [];
  for (let i = 0; i < total; i += 1) {
    const due = start + i * intervalMs;
    const wait = due - now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    inFlight.push(
      take().then(async (client) => {
        try {
          const result = await client.query<{ id: string }>({ ...INSERT_ONE, values: [i % 1000, 1, NOTE] });
          committedAt.set(Number(result.rows[0]!.id), now());
        } finally {
          give(client);
        }
      }),
    );
  }
  await Promise.all(inFlight);
  await Promise.all(clients.map((c) => c.end()));
  return committedAt;
}
