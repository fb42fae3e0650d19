/** The benchmark's knobs, from the environment, with the defaults. */

function integer(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) {
    process.stderr.write(`bench: ${name} must be a positive integer (got "${raw}")\n`);
    process.exit(2);
  }
  return value;
}

export interface BenchOptions {
  /** Events per throughput run. */
  events: number;
  /** Runs per figure; each figure printed is their median. */
  runs: number;
  /** Producer connections for single-row and bulk inserts. */
  connections: number;
  /** Webhook requests in flight: the daemon's default HTTP pool size, given to every contender. */
  concurrency: number;
  latencyRate: number;
  latencySeconds: number;
  /** The isolation run: the healthy trigger's rate, and the hung trigger's due events. */
  isolationRate: number;
  isolationBacklog: number;
  /** Pending events for the memory run. */
  backlog: number;
  /** Scenarios to run (all when unset): capture,http,daemon,peer,latency,isolation,memory. */
  only: Set<string> | undefined;
  databaseUrl: string | undefined;
  /** The bench trigger signs its requests (Standard Webhooks), to measure what signing costs. */
  signed: boolean;
  /** Scrape every daemon's /v1/metrics this often while it runs, to measure what metrics cost. */
  scrapeMs: number | undefined;
}

export function readOptions(): BenchOptions {
  const only = process.env.BENCH_ONLY?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return {
    events: integer('BENCH_EVENTS', 20_000),
    runs: integer('BENCH_RUNS', 3),
    connections: integer('BENCH_CONNECTIONS', 8),
    concurrency: integer('BENCH_CONCURRENCY', 100),
    latencyRate: integer('BENCH_LATENCY_RATE', 500),
    latencySeconds: integer('BENCH_LATENCY_SECONDS', 20),
    isolationRate: integer('BENCH_ISOLATION_RATE', 200),
    isolationBacklog: integer('BENCH_ISOLATION_BACKLOG', 2000),
    backlog: integer('BENCH_BACKLOG', 100_000),
    only: only?.length ? new Set(only) : undefined,
    databaseUrl: process.env.BENCH_DATABASE_URL || undefined,
    signed: process.env.BENCH_SIGNED === '1',
    scrapeMs: process.env.BENCH_SCRAPE_MS ? integer('BENCH_SCRAPE_MS', 0) : undefined,
  };
}

export const HELP = `npm run bench: throughput, latency and memory of pg-event-triggers against its limits and a peer.

Environment (all optional):
  BENCH_DATABASE_URL     a PostgreSQL to use (it creates and drops its own databases); default: an embedded one
  BENCH_EVENTS           events per throughput run (20000)
  BENCH_RUNS             runs per figure, the median is printed (3)
  BENCH_CONNECTIONS      producer connections (8)
  BENCH_CONCURRENCY      webhook requests in flight for every contender (100, the daemon's default)
  BENCH_LATENCY_RATE     events per second in the latency run (500)
  BENCH_LATENCY_SECONDS  length of the latency and isolation runs (20)
  BENCH_ISOLATION_RATE   events per second of the healthy trigger in the isolation run (200)
  BENCH_ISOLATION_BACKLOG due events of the trigger whose endpoint hangs in the isolation run (2000)
  BENCH_BACKLOG          pending events in the memory run (100000)
  BENCH_ONLY             a comma list of: capture,http,daemon,peer,latency,isolation,memory
  BENCH_DAEMON_ENV       extra daemon settings, e.g. EVENTS_FETCH_BATCH_SIZE=200,DB_POOL_SIZE=20
  BENCH_DAEMON_NODE_ARGS node options for the daemon, e.g. "--cpu-prof --cpu-prof-dir=prof"
  BENCH_DAEMON_CLI       another build's dist/src/cli.js, to measure it with this bench (compare builds)
  BENCH_SIGNED           1: the bench trigger signs every request (signing_secret), to measure signing
  BENCH_SCRAPE_MS        scrape each daemon's /v1/metrics this often (ms) while it runs, to measure metrics
`;
