/**
 * `npm run bench`: how much pg-event-triggers carries and how fast an event arrives, against what the
 * machine can do (capture and HTTP ceilings) and against graphile-worker doing the same job, every
 * figure the median of several runs and every ratio from this same run. See docs/performance.md.
 */
import os from 'node:os';
import { VERSION } from '../src/version.js';
import { startDaemon, startPeer, startSink, type Contender, type Sink } from './contenders.js';
import { HELP, readOptions, type BenchOptions } from './options.js';
import { PEER_CONFIGS, installPeer, type PeerConfigName } from './peers/graphileWorker.js';
import { provisionBenchPostgres, type BenchPostgres } from './postgres.js';
import { format, Results, targetTable, type Target } from './report.js';
import { startHungEndpoint } from './hungEndpoint.js';
import {
  backlogDrain,
  captureRate,
  endToEnd,
  httpCeiling,
  latencyAtRate,
  latencyBesideHungEndpoint,
  withClient,
  type Stage,
} from './scenarios.js';
import { BENCH_SIGNING_SECRET, createTrigger } from './trigger.js';
import { CREATE_HUNG_TABLE, CREATE_TABLE, HUNG_TABLE, TABLE } from './workload.js';

const MB = 1024 * 1024;

async function main() {
  if (process.argv.includes('--help')) {
    process.stdout.write(HELP);
    return;
  }
  const options = readOptions();
  const wants = (scenario: string) => !options.only || options.only.has(scenario);
  const began = Date.now();
  const results = new Results();

  const postgres = await provisionBenchPostgres(options.databaseUrl);
  const sink = await startSink();
  try {
    progress(`PostgreSQL ${postgres.version} (${postgres.kind}); ${options.events} events a run, median of ${options.runs} runs`);
    const ours = await prepareOurs(postgres, sink, options, results, wants('capture'));
    // PostgreSQL's own CPU beside each contender's: the embedded server's processes (none for a
    // BENCH_DATABASE_URL, which may run elsewhere).
    const databaseCpu = () => postgres.serverCpuMs();
    const addDatabaseCpu = (key: string, label: string, run: { databaseCpuMsPer1000: number | undefined }) => {
      if (run.databaseCpuMsPer1000 !== undefined) results.add(key, label, 'ms', run.databaseCpuMsPer1000);
    };

    if (wants('capture')) {
      progress('capture ceiling: inserts with the capture trigger, no daemon');
      for (let run = 0; run < options.runs; run += 1) {
        results.add(
          'capture.single',
          `capture ceiling, single-row transactions, ${options.connections} connections`,
          'rows/s',
          await captureRate(ours, options.events, options.connections, 'single'),
        );
      }
      for (let run = 0; run < options.runs; run += 1) {
        results.add(
          'capture.bulk',
          `capture ceiling, 500-row statements, ${options.connections} connections`,
          'rows/s',
          await captureRate(ours, options.events, options.connections, 'bulk'),
        );
      }
    }

    if (wants('http')) {
      progress('HTTP ceiling: the same payloads POSTed by undici straight to the sink');
      const payloads = await samplePayloads(ours, options.events);
      for (let run = 0; run < options.runs; run += 1) {
        results.add(
          'http',
          `HTTP ceiling, undici to the sink, ${options.concurrency} in flight`,
          'req/s',
          await httpCeiling(sink, payloads, options.concurrency),
        );
      }
    }

    if (wants('daemon')) {
      progress('pg-event-triggers end to end, and draining a backlog');
      for (let run = 0; run < options.runs; run += 1) {
        const e2e = await endToEnd(ours, sink, () => startDaemon(ours.url), options.events, options.connections, databaseCpu);
        results.add('daemon.e2e', 'pg-event-triggers end to end (single-row inserts)', 'events/s', e2e.eventsPerSecond);
        results.add('daemon.cpu', 'pg-event-triggers CPU per 1,000 events (end to end)', 'ms', e2e.cpuMsPer1000);
        addDatabaseCpu('daemon.pgCpu', 'pg-event-triggers end to end: PostgreSQL CPU per 1,000 events (capture included)', e2e);
        results.add('daemon.duplicates', 'pg-event-triggers duplicate deliveries', '', e2e.duplicates);
        results.add('daemon.inserts', 'pg-event-triggers end to end: inserts took', 's', e2e.insertSeconds);
        results.add('daemon.tail', 'pg-event-triggers end to end: last arrival after last commit', 's', e2e.tailSeconds);
        if (e2e.eventsPerFetch !== undefined)
          results.add('daemon.perFetch', 'pg-event-triggers end to end: events per fetch', '', e2e.eventsPerFetch);
        if (e2e.attemptsPerWrite !== undefined)
          results.add('daemon.perWrite', 'pg-event-triggers end to end: attempts per recorder write', '', e2e.attemptsPerWrite);
      }
      for (let run = 0; run < options.runs; run += 1) {
        const drain = await backlogDrain(ours, sink, (url) => startDaemon(url), options.events, options.connections, false, databaseCpu);
        results.add('daemon.drain', 'pg-event-triggers backlog drain, invocation logs on', 'events/s', drain.eventsPerSecond);
        results.add(
          'daemon.drainRss',
          `pg-event-triggers peak RSS draining ${options.events.toLocaleString('en-US')} events`,
          'MB',
          drain.peakRssBytes / MB,
        );
        results.add('daemon.drainCpu', 'pg-event-triggers CPU per 1,000 events (drain, boot included)', 'ms', drain.cpuMsPer1000);
        addDatabaseCpu('daemon.drainPgCpu', 'pg-event-triggers drain: PostgreSQL CPU per 1,000 events', drain);
        if (drain.eventsPerFetch !== undefined)
          results.add('daemon.drainPerFetch', 'pg-event-triggers drain: events per fetch', '', drain.eventsPerFetch);
        if (drain.attemptsPerWrite !== undefined)
          results.add('daemon.drainPerWrite', 'pg-event-triggers drain: attempts per recorder write', '', drain.attemptsPerWrite);
      }
      // The same drain with INVOCATION_LOGS=false: what the invocation logs cost a drain.
      const withoutLogs = (url: string) => startDaemon(url, { INVOCATION_LOGS: 'false' });
      for (let run = 0; run < options.runs; run += 1) {
        const drain = await backlogDrain(ours, sink, withoutLogs, options.events, options.connections, false, databaseCpu);
        results.add('daemon.drainNoLogs', 'pg-event-triggers backlog drain, invocation logs off', 'events/s', drain.eventsPerSecond);
        results.add(
          'daemon.drainNoLogsCpu',
          'pg-event-triggers CPU per 1,000 events (drain, logs off, boot included)',
          'ms',
          drain.cpuMsPer1000,
        );
        addDatabaseCpu('daemon.drainNoLogsPgCpu', 'pg-event-triggers drain, logs off: PostgreSQL CPU per 1,000 events', drain);
      }
    }

    const peer = wants('peer') || wants('latency') ? await preparePeer(postgres) : undefined;
    if (peer && wants('peer')) {
      for (const config of Object.keys(PEER_CONFIGS) as PeerConfigName[]) {
        // The default configuration's end to end runs at a few hundred events/s (its add_job sends a
        // NOTIFY per row, whose commits PostgreSQL serialises): with N events it alone took over three of
        // the bench's minutes on a slow day. No target uses it (they take the faster configuration), so
        // it gets a fifth of the events; its figure is a rate all the same.
        const events = config === 'default' ? Math.max(1000, Math.round(options.events / 5)) : options.events;
        const label = events === options.events ? '' : ` (${events.toLocaleString('en-US')} events a run)`;
        progress(`graphile-worker (${config}) end to end${label}, and draining a backlog`);
        const start = (url: string) => startPeer(url, sink.url, config, options.concurrency);
        for (let run = 0; run < options.runs; run += 1) {
          const e2e = await endToEnd(peer, sink, () => start(peer.url), events, options.connections, databaseCpu);
          results.add(`peer.${config}.e2e`, `graphile-worker ${config} end to end${label}`, 'events/s', e2e.eventsPerSecond);
          results.add(`peer.${config}.cpu`, `graphile-worker ${config} CPU per 1,000 events`, 'ms', e2e.cpuMsPer1000);
          addDatabaseCpu(
            `peer.${config}.pgCpu`,
            `graphile-worker ${config} end to end: PostgreSQL CPU per 1,000 events (capture included)`,
            e2e,
          );
        }
        for (let run = 0; run < options.runs; run += 1) {
          const drain = await backlogDrain(peer, sink, start, options.events, options.connections, false, databaseCpu);
          results.add(`peer.${config}.drain`, `graphile-worker ${config} backlog drain`, 'events/s', drain.eventsPerSecond);
          results.add(
            `peer.${config}.drainCpu`,
            `graphile-worker ${config} drain: CPU per 1,000 events (boot included)`,
            'ms',
            drain.cpuMsPer1000,
          );
          addDatabaseCpu(`peer.${config}.drainPgCpu`, `graphile-worker ${config} drain: PostgreSQL CPU per 1,000 events`, drain);
        }
      }
    }

    if (wants('latency')) {
      const { latencyRate: rate, latencySeconds: seconds } = options;
      progress(`latency at ${rate} events/s for ${seconds} s, commit to arrival`);
      const contenders: Array<[string, string, () => Promise<Contender>, Stage]> = [
        ['daemon', 'pg-event-triggers', () => startDaemon(ours.url), ours],
      ];
      if (peer) {
        for (const config of Object.keys(PEER_CONFIGS) as PeerConfigName[]) {
          contenders.push([
            `peer.${config}`,
            `graphile-worker ${config}`,
            () => startPeer(peer.url, sink.url, config, options.concurrency),
            peer,
          ]);
        }
      }
      for (const [key, name, start, stage] of contenders) {
        const latency = await latencyAtRate(stage, sink, start, rate, seconds);
        results.add(`${key}.p50`, `${name} latency p50 at ${rate}/s`, 'ms', latency.p50);
        results.add(`${key}.p95`, `${name} latency p95 at ${rate}/s`, 'ms', latency.p95);
        results.add(`${key}.p99`, `${name} latency p99 at ${rate}/s`, 'ms', latency.p99);
      }
    }

    if (wants('isolation')) {
      const { isolationRate: rate, latencySeconds: seconds, isolationBacklog: backlog } = options;
      progress(`isolation: latency at ${rate} events/s, beside a trigger whose endpoint hangs with ${backlog} due events, and without`);
      const hung = await startHungEndpoint();
      try {
        const daemon = await startDaemon(ours.url);
        try {
          await createTrigger(daemon.apiUrl, hung.url, 'bench_hung', HUNG_TABLE);
        } finally {
          await daemon.stop();
        }
        // Alternated, so both sides meet the same machine.
        for (let run = 0; run < options.runs; run += 1) {
          for (const fault of [false, true]) {
            const latency = await latencyBesideHungEndpoint(ours, sink, () => startDaemon(ours.url), {
              rate,
              seconds,
              backlog,
              poolSize: options.concurrency,
              hung: fault ? hung : undefined,
            });
            const key = fault ? 'isolation.hung' : 'isolation.clean';
            const name = fault ? `beside a hung endpoint with ${backlog.toLocaleString('en-US')} due events` : 'without the fault';
            results.add(`${key}.p50`, `healthy trigger latency p50 at ${rate}/s, ${name}`, 'ms', latency.p50);
            results.add(`${key}.p99`, `healthy trigger latency p99 at ${rate}/s, ${name}`, 'ms', latency.p99);
            results.add(`${key}.max`, `healthy trigger latency max at ${rate}/s, ${name}`, 'ms', latency.max);
          }
        }
      } finally {
        await hung.close();
      }
    }

    if (wants('memory')) {
      progress(`memory and round trips: draining ${options.backlog} pending events (through a round-trip counter)`);
      const drain = await backlogDrain(ours, sink, (url) => startDaemon(url), options.backlog, options.connections, true, databaseCpu);
      results.add(
        'daemon.rss',
        `pg-event-triggers peak RSS draining ${options.backlog.toLocaleString('en-US')} events`,
        'MB',
        drain.peakRssBytes / MB,
      );
      results.add('daemon.roundTrips', 'database round trips per delivered event', '', drain.roundTripsPerEvent!);
      results.add(
        'daemon.bigDrainCpu',
        `pg-event-triggers CPU per 1,000 events (drain of ${options.backlog.toLocaleString('en-US')}, boot included)`,
        'ms',
        drain.cpuMsPer1000,
      );
      addDatabaseCpu(
        'daemon.bigDrainPgCpu',
        `pg-event-triggers drain of ${options.backlog.toLocaleString('en-US')}: PostgreSQL CPU per 1,000 events`,
        drain,
      );
      results.add(
        'daemon.bigDrain',
        `pg-event-triggers drain of ${options.backlog.toLocaleString('en-US')} (via the counting relay)`,
        'events/s',
        drain.eventsPerSecond,
      );
    }

    const minutes = (Date.now() - began) / 60_000;
    process.stdout.write(`\n${describeMachine(postgres, options)}; ran in ${minutes.toFixed(1)} min\n\n`);
    process.stdout.write(`${results.table()}\n\n${targetTable(targets(results))}\n`);
  } finally {
    sink.stop();
    await postgres.stop();
  }
}

/** Our database: the table, the catalog and a trigger created through the API, as a user would. */
async function prepareOurs(
  postgres: BenchPostgres,
  sink: Sink,
  options: BenchOptions,
  results: Results,
  baseline: boolean,
): Promise<Stage> {
  const url = await postgres.createDatabase('bench_ours');
  await withClient(url, async (client) => {
    await client.query(CREATE_TABLE);
    await client.query(CREATE_HUNG_TABLE);
  });
  const stage: Stage = {
    url,
    reset: () =>
      withClient(url, async (client) => {
        await client.query(`truncate public.${TABLE}, public.${HUNG_TABLE} restart identity`);
        await client.query('truncate event_triggers.event_invocation_logs, event_triggers.event_log').catch(() => undefined);
      }),
  };
  if (baseline) {
    progress('baseline: the same inserts with no trigger at all');
    for (let run = 0; run < options.runs; run += 1) {
      results.add(
        'plain.single',
        `PostgreSQL alone, single-row transactions, ${options.connections} connections`,
        'rows/s',
        await captureRate(stage, options.events, options.connections, 'single'),
      );
    }
  }
  const daemon = await startDaemon(url);
  try {
    await createTrigger(
      daemon.apiUrl,
      sink.url,
      undefined,
      undefined,
      options.signed ? { signing_secret: { value: BENCH_SIGNING_SECRET } } : {},
    );
  } finally {
    await daemon.stop();
  }
  return stage;
}

async function preparePeer(postgres: BenchPostgres): Promise<Stage> {
  const url = await postgres.createDatabase('bench_peer');
  await withClient(url, (client) => client.query(CREATE_TABLE));
  await installPeer(url, TABLE);
  return {
    url,
    reset: () =>
      withClient(url, async (client) => {
        await client.query(`truncate public.${TABLE} restart identity`);
        await client.query('truncate graphile_worker._private_jobs');
      }),
  };
}

/** Payloads as the capture wrote them, for the HTTP ceiling (captured afresh if the table is empty). */
async function samplePayloads(stage: Stage, count: number): Promise<string[]> {
  const rows = await withClient(stage.url, async (client) => {
    const sample = () =>
      client.query<{ payload: string }>('select payload::text as payload from event_triggers.event_log limit $1', [count]);
    let result = await sample();
    if (result.rows.length < count) {
      await captureRate(stage, count, 8, 'bulk');
      result = await sample();
    }
    return result.rows;
  });
  return rows.map((r) => r.payload);
}

function targets(results: Results): Target[] {
  const get = (key: string) => results.get(key);
  const ratio = (a: number | undefined, b: number | undefined) => (a !== undefined && b !== undefined ? a / b : undefined);
  const rate = (v: number | undefined) => (v === undefined ? 'n/a' : format(v, 'events/s'));
  const e2e = get('daemon.e2e');
  const drain = get('daemon.drain');
  const drainNoLogs = get('daemon.drainNoLogs');
  const tunedDrain = get('peer.tuned.drain');
  const ceiling = [get('capture.single'), get('http')].every((v) => v !== undefined)
    ? Math.min(get('capture.single')!, get('http')!)
    : undefined;
  const peerE2e = maxOf(Object.keys(PEER_CONFIGS).map((c) => get(`peer.${c}.e2e`)));
  const peerDrain = maxOf(Object.keys(PEER_CONFIGS).map((c) => get(`peer.${c}.drain`)));
  const p50 = get('daemon.p50');
  const p99 = get('daemon.p99');
  const rss = get('daemon.rss');
  const trips = get('daemon.roundTrips');
  const verdict = (value: number | undefined, ok: (v: number) => boolean) => (value === undefined ? undefined : ok(value));
  return [
    {
      goal: 'end to end >= 0.7 x min(capture, HTTP ceiling)',
      detail: `${rate(e2e)} = ${fmtRatio(ratio(e2e, ceiling))} x ${rate(ceiling)}`,
      met: verdict(ratio(e2e, ceiling), (r) => r >= 0.7),
    },
    {
      goal: 'end to end >= 1.5 x the faster graphile-worker',
      detail: `${rate(e2e)} = ${fmtRatio(ratio(e2e, peerE2e))} x ${rate(peerE2e)}`,
      met: verdict(ratio(e2e, peerE2e), (r) => r >= 1.5),
    },
    {
      goal: 'backlog drain >= 1.5 x the faster graphile-worker',
      detail: `${rate(drain)} = ${fmtRatio(ratio(drain, peerDrain))} x ${rate(peerDrain)}`,
      met: verdict(ratio(drain, peerDrain), (r) => r >= 1.5),
    },
    {
      goal: 'latency p50 <= 10 ms at 500 events/s',
      detail: `${fmt(p50, 'ms')} (graphile-worker: ${Object.keys(PEER_CONFIGS)
        .map((c) => `${c} ${fmt(get(`peer.${c}.p50`), 'ms')}`)
        .join(', ')})`,
      met: verdict(p50, (v) => v <= 10),
    },
    {
      goal: 'latency p99 <= 50 ms at 500 events/s',
      detail: `${fmt(p99, 'ms')} (graphile-worker: ${Object.keys(PEER_CONFIGS)
        .map((c) => `${c} ${fmt(get(`peer.${c}.p99`), 'ms')}`)
        .join(', ')})`,
      met: verdict(p99, (v) => v <= 50),
    },
    {
      goal: 'backlog drain, invocation logs on >= 1.0 x graphile-worker tuned',
      detail: `${rate(drain)} = ${fmtRatio(ratio(drain, tunedDrain))} x ${rate(tunedDrain)}`,
      met: verdict(ratio(drain, tunedDrain), (r) => r >= 1.0),
    },
    {
      goal: 'backlog drain, invocation logs off >= 1.3 x graphile-worker tuned',
      detail: `${rate(drainNoLogs)} = ${fmtRatio(ratio(drainNoLogs, tunedDrain))} x ${rate(tunedDrain)}`,
      met: verdict(ratio(drainNoLogs, tunedDrain), (r) => r >= 1.3),
    },
    { goal: 'backlog drain with invocation logs >= 5,000 events/s', detail: rate(drain), met: verdict(drain, (v) => v >= 5000) },
    {
      goal: 'beside a hung endpoint: p50 within a few ms (5) of no fault, max < 1 s',
      detail: `p50 ${fmt(get('isolation.hung.p50'), 'ms')} (without the fault ${fmt(get('isolation.clean.p50'), 'ms')}), p99 ${fmt(
        get('isolation.hung.p99'),
        'ms',
      )} (${fmt(get('isolation.clean.p99'), 'ms')}), max ${fmt(get('isolation.hung.max'), 'ms')}`,
      met:
        get('isolation.hung.p50') === undefined
          ? undefined
          : get('isolation.hung.p50')! - get('isolation.clean.p50')! <= 5 && get('isolation.hung.max')! < 1000,
    },
    { goal: 'peak RSS <= 150 MB with 100,000 pending', detail: fmt(rss, 'MB'), met: verdict(rss, (v) => v <= 150) },
    { goal: 'fewer than 1 database round trip per event', detail: fmt(trips, ''), met: verdict(trips, (v) => v < 1) },
  ];
}

const fmt = (value: number | undefined, unit: string) => (value === undefined ? 'n/a' : format(value, unit));
const fmtRatio = (value: number | undefined) => (value === undefined ? 'n/a' : value.toFixed(2));
const maxOf = (values: Array<number | undefined>) => {
  const known = values.filter((v): v is number => v !== undefined);
  return known.length ? Math.max(...known) : undefined;
};

function describeMachine(postgres: BenchPostgres, options: BenchOptions): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  return [
    `pg-event-triggers ${VERSION}, Node ${process.version}, PostgreSQL ${postgres.version} (${postgres.kind})`,
    `${os.cpus().length} x ${cpu}, ${Math.round(os.totalmem() / 1024 ** 3)} GiB, ${os.type()} ${os.release()}`,
    `${options.events} events a run, median of ${options.runs}, ${options.connections} producer connections, ${options.concurrency} webhook requests in flight`,
    `bench trigger ${options.signed ? 'signed (signing_secret)' : 'unsigned'}; /v1/metrics ${options.scrapeMs === undefined ? 'not scraped' : `scraped every ${options.scrapeMs} ms`}${process.env.BENCH_DAEMON_CLI ? `; daemon: ${process.env.BENCH_DAEMON_CLI}` : ''}`,
  ].join('\n');
}

const benchStarted = Date.now();

/** A progress line, with the minutes since the bench started (to see where its time goes). */
function progress(message: string) {
  const minutes = ((Date.now() - benchStarted) / 60_000).toFixed(1);
  process.stderr.write(`bench: [${minutes} min] ${message}\n`);
}

main().catch((error) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
