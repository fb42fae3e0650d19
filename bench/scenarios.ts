/**
 * What the benchmark measures, one function a scenario. Each returns plain figures; run.ts decides
 * what to run and in which order. Every contender is started fresh for a run and stopped after it.
 */
import pg from 'pg';
import { Pool } from 'undici';
import type { Contender, Sink } from './contenders.js';
import { cpuMs, peakRssBytes } from './processStats.js';
import { percentile } from './report.js';
import { startRoundTripCounter } from './roundTripCounter.js';
import type { HungEndpoint } from './hungEndpoint.js';
import { insertAtRate, insertBulk, insertHungBacklog, insertSingleRows, now } from './workload.js';

/** A database prepared for one contender: its table, its capture, and a way back to empty. */
export interface Stage {
  url: string;
  /** Empties the table and the contender's queue. */
  reset(): Promise<void>;
}

export async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Long enough for a slow contender, short enough that a stuck one fails the run instead of hanging it. */
const arrivalTimeout = (events: number) => Math.max(60_000, events * 10);

export async function captureRate(stage: Stage, events: number, connections: number, mode: 'single' | 'bulk'): Promise<number> {
  await stage.reset();
  const run = mode === 'single' ? await insertSingleRows(stage.url, events, connections) : await insertBulk(stage.url, events, connections);
  return events / ((run.finishedAt - run.startedAt) / 1000);
}

/** The same payloads POSTed by undici straight to the sink, `concurrency` at a time: requests/s. */
export async function httpCeiling(sink: Sink, payloads: string[], concurrency: number): Promise<number> {
  const url = new URL(sink.url);
  const client = new Pool(url.origin, { connections: concurrency });
  let next = 0;
  const post = async () => {
    while (next < payloads.length) {
      const body = payloads[next++]!;
      const response = await client.request({ path: url.pathname, method: 'POST', headers: { 'content-type': 'application/json' }, body });
      await response.body.dump();
      if (response.statusCode !== 200) throw new Error(`the sink answered ${response.statusCode}`);
    }
  };
  const startedAt = now();
  await Promise.all(Array.from({ length: concurrency }, post));
  const seconds = (now() - startedAt) / 1000;
  await client.close();
  return payloads.length / seconds;
}

/** CPU milliseconds the database server has used so far, when it can be measured. */
export type DatabaseCpu = () => number | undefined;

/** Per 1,000 events, from two readings of a DatabaseCpu. */
const per1000 = (before: number | undefined, after: number | undefined, events: number) =>
  before === undefined || after === undefined ? undefined : ((after - before) / events) * 1000;

export interface EndToEnd {
  eventsPerSecond: number;
  cpuMsPer1000: number;
  /** PostgreSQL's, capture included (the inserts' transactions), while the run lasted. */
  databaseCpuMsPer1000: number | undefined;
  duplicates: number;
  /** How long the inserts took, and how long after the last commit the last event arrived. */
  insertSeconds: number;
  tailSeconds: number;
  /** Our daemon only: events claimed per fetch, attempts written per recorder statement. */
  eventsPerFetch: number | undefined;
  attemptsPerWrite: number | undefined;
}

/** Inserts start with the contender running: N / (last arrival − first insert). */
export async function endToEnd(
  stage: Stage,
  sink: Sink,
  start: () => Promise<Contender>,
  events: number,
  connections: number,
  databaseCpu: DatabaseCpu = () => undefined,
): Promise<EndToEnd> {
  await stage.reset();
  const contender = await start();
  let stopped = false;
  try {
    await sink.reset();
    const cpuBefore = cpuMs(contender.pid);
    const databaseBefore = databaseCpu();
    const run = await insertSingleRows(stage.url, events, connections);
    const report = await sink.waitFor(events, arrivalTimeout(events));
    const cpu = cpuMs(contender.pid) - cpuBefore;
    const databaseCpuMsPer1000 = per1000(databaseBefore, databaseCpu(), events);
    stopped = true;
    const counters = await contender.stop();
    return {
      eventsPerSecond: events / ((report.lastArrival - run.startedAt) / 1000),
      cpuMsPer1000: (cpu / events) * 1000,
      databaseCpuMsPer1000,
      duplicates: report.received - report.distinct,
      insertSeconds: (run.finishedAt - run.startedAt) / 1000,
      tailSeconds: (report.lastArrival - run.finishedAt) / 1000,
      eventsPerFetch: counters && counters.fetches ? counters.claimed / counters.fetches : undefined,
      attemptsPerWrite: counters && counters.recorderWrites ? counters.attemptsRecorded / counters.recorderWrites : undefined,
    };
  } finally {
    if (!stopped) await contender.stop();
  }
}

export interface Drain {
  eventsPerSecond: number;
  peakRssBytes: number;
  roundTripsPerEvent: number | undefined;
  cpuMsPer1000: number;
  /** PostgreSQL's, from the contender's start to the last arrival. */
  databaseCpuMsPer1000: number | undefined;
  /** Our daemon only: events claimed per fetch, attempts written per recorder statement. */
  eventsPerFetch: number | undefined;
  attemptsPerWrite: number | undefined;
}

/**
 * N events already pending when the contender starts: N / (last arrival − first arrival). With
 * `countRoundTrips`, the contender reaches PostgreSQL through a relay that counts round trips.
 */
export async function backlogDrain(
  stage: Stage,
  sink: Sink,
  start: (databaseUrl: string) => Promise<Contender>,
  events: number,
  connections: number,
  countRoundTrips = false,
  databaseCpu: DatabaseCpu = () => undefined,
): Promise<Drain> {
  await stage.reset();
  await insertBulk(stage.url, events, connections);
  const counter = countRoundTrips ? await startRoundTripCounter(serverOf(stage.url)) : undefined;
  const url = new URL(stage.url);
  if (counter) {
    url.hostname = '127.0.0.1';
    url.port = String(counter.port);
  }
  await sink.reset();
  const databaseBefore = databaseCpu();
  const contender = await start(url.toString());
  let stopped = false;
  try {
    const report = await sink.waitFor(events, arrivalTimeout(events));
    const databaseCpuMsPer1000 = per1000(databaseBefore, databaseCpu(), events);
    const measured = {
      eventsPerSecond: events / ((report.lastArrival - report.firstArrival) / 1000),
      peakRssBytes: peakRssBytes(contender.pid),
      roundTripsPerEvent: counter ? counter.roundTrips() / events : undefined,
      cpuMsPer1000: (cpuMs(contender.pid) / events) * 1000,
      databaseCpuMsPer1000,
    };
    stopped = true;
    const counters = await contender.stop();
    return {
      ...measured,
      eventsPerFetch: counters && counters.fetches ? counters.claimed / counters.fetches : undefined,
      attemptsPerWrite: counters && counters.recorderWrites ? counters.attemptsRecorded / counters.recorderWrites : undefined,
    };
  } finally {
    if (!stopped) await contender.stop();
    await counter?.close();
  }
}

export interface Latency {
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** Commits single rows at `rate` for `seconds`, waits for them all at the sink, and gives commit-to-arrival percentiles. */
async function commitToArrival(stage: Stage, sink: Sink, rate: number, seconds: number): Promise<Latency> {
  const committedAt = await insertAtRate(stage.url, rate, seconds);
  await sink.waitFor(committedAt.size, arrivalTimeout(committedAt.size));
  const { arrivals = [] } = await sink.report(true);
  const latencies = arrivals.map(([id, arrivedAt]) => arrivedAt - committedAt.get(id)!).filter(Number.isFinite);
  return {
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
    p99: percentile(latencies, 99),
    max: percentile(latencies, 100),
  };
}

/** A steady rate of single-row commits; latency = arrival at the sink − commit acknowledged. */
export async function latencyAtRate(
  stage: Stage,
  sink: Sink,
  start: () => Promise<Contender>,
  rate: number,
  seconds: number,
): Promise<Latency> {
  await stage.reset();
  const contender = await start();
  try {
    await sink.reset();
    return await commitToArrival(stage, sink, rate, seconds);
  } finally {
    await contender.stop();
  }
}

/**
 * Latency at a steady rate while another trigger's endpoint hangs: `backlog` events of the hung trigger
 * are due and its requests fill the pool before the measured inserts begin (`hung` undefined: the same
 * run without the fault). Only the healthy trigger's events reach the sink.
 */
export async function latencyBesideHungEndpoint(
  stage: Stage,
  sink: Sink,
  start: () => Promise<Contender>,
  options: { rate: number; seconds: number; backlog: number; poolSize: number; hung: HungEndpoint | undefined },
): Promise<Latency> {
  await stage.reset();
  const contender = await start();
  try {
    await sink.reset();
    if (options.hung) {
      await insertHungBacklog(stage.url, options.backlog);
      const deadline = now() + 30_000;
      while (options.hung.held() < options.poolSize) {
        if (now() > deadline)
          throw new Error(`the hung endpoint holds ${options.hung.held()} requests, not the pool's ${options.poolSize}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    return await commitToArrival(stage, sink, options.rate, options.seconds);
  } finally {
    await contender.stop();
  }
}

function serverOf(databaseUrl: string) {
  const url = new URL(databaseUrl);
  return { host: url.hostname, port: Number(url.port || 5432) };
}
