/**
 * The processes of a benchmark run, each started the way its user starts it: the webhook sink, our
 * daemon (`pg-event-triggers start`), and the peer's worker.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { spawnDaemon } from '../test/support/daemonProcess.js';
import { startScraper } from './metricsScraper.js';
import { readOptions } from './options.js';
import type { PeerConfigName } from './peers/graphileWorker.js';
import type { SinkCommand, SinkReport } from './sink.js';

export interface Sink {
  url: string;
  reset(): Promise<void>;
  report(arrivals?: boolean): Promise<SinkReport>;
  /** Resolves once `count` distinct events have arrived; rejects after `timeoutMs`. */
  waitFor(count: number, timeoutMs: number): Promise<SinkReport>;
  stop(): void;
}

export async function startSink(): Promise<Sink> {
  const child = fork(fileURLToPath(new URL('./sink.js', import.meta.url)), { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ask = <T>(command: SinkCommand, answer: string) =>
    new Promise<T>((resolve) => {
      const onMessage = (message: { type: string } & T) => {
        if (message.type !== answer) return;
        child.off('message', onMessage);
        resolve(message);
      };
      child.on('message', onMessage);
      child.send(command);
    });
  const { url } = await new Promise<{ url: string }>((resolve) =>
    child.once('message', (message: { type: string; url: string }) => resolve(message)),
  );
  const report = async (arrivals = false) => (await ask<{ report: SinkReport }>({ type: 'report', arrivals }, 'report')).report;
  return {
    url,
    reset: async () => void (await ask({ type: 'reset' }, 'reset-done')),
    report,
    async waitFor(count, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const current = await report();
        if (current.distinct >= count) return current;
        if (Date.now() > deadline) {
          throw new Error(`only ${current.distinct} of ${count} events reached the sink in ${timeoutMs / 1000} s`);
        }
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    },
    stop: () => child.kill(),
  };
}

export interface Contender {
  pid: number;
  /** SIGTERM, and wait for the exit; our daemon answers the engine's counters it logs on the way out. */
  stop(): Promise<EngineCounters | undefined>;
}

/** The counters our daemon logs when it stops (DeliveryEngine.stats()). */
export interface EngineCounters {
  fetches: number;
  claimed: number;
  recorderWrites: number;
  attemptsRecorded: number;
}

/**
 * Our daemon, as a user runs it, with its default settings; BENCH_DAEMON_ENV (`NAME=value,NAME=value`)
 * adds settings, to measure a tuning. With BENCH_SCRAPE_MS, its /v1/metrics is scraped while it runs.
 */
export async function startDaemon(databaseUrl: string, settings: Record<string, string> = {}): Promise<Contender & { apiUrl: string }> {
  const extra = Object.fromEntries(
    (process.env.BENCH_DAEMON_ENV ?? '')
      .split(',')
      .filter(Boolean)
      .map((pair) => [pair.split('=')[0]!, pair.slice(pair.indexOf('=') + 1)]),
  );
  const nodeArgs = (process.env.BENCH_DAEMON_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const daemon = await spawnDaemon(
    { DATABASE_URL: databaseUrl, LOG_LEVEL: 'info', ...settings, ...extra },
    60_000,
    nodeArgs,
    process.env.BENCH_DAEMON_CLI || undefined,
  );
  const { scrapeMs } = readOptions();
  const scraper = scrapeMs === undefined ? undefined : startScraper(daemon.url, scrapeMs);
  return {
    pid: daemon.child.pid!,
    apiUrl: daemon.url,
    stop: async () => {
      const scrapes = await scraper?.stop();
      if (scrapes) {
        process.stderr.write(
          `bench: /v1/metrics scraped ${scrapes.scrapes} times (${scrapes.failed} failed), ` +
            `p50 ${scrapes.p50Ms.toFixed(1)} ms, max ${scrapes.maxMs.toFixed(1)} ms, ${scrapes.bytes} bytes\n`,
        );
      }
      const exit = await daemon.kill('SIGTERM');
      if (exit.code !== 0) throw new Error(`the daemon exited with ${exit.code ?? exit.signal}:\n${daemon.lines.slice(-20).join('\n')}`);
      return countersFrom(daemon.lines);
    },
  };
}

/** The peer's worker process (bench/peers/graphileWorker.ts). */
export async function startPeer(databaseUrl: string, webhookUrl: string, config: PeerConfigName, concurrency: number): Promise<Contender> {
  const child: ChildProcess = spawn(process.execPath, [fileURLToPath(new URL('./peers/graphileWorker.js', import.meta.url))], {
    env: {
      PATH: process.env.PATH ?? '',
      GW_DATABASE_URL: databaseUrl,
      GW_WEBHOOK_URL: webhookUrl,
      GW_CONFIG: config,
      GW_CONCURRENCY: String(concurrency),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('graphile-worker is running')) resolve();
    });
    void exited.then((code) => reject(new Error(`graphile-worker exited (${code}) before it was running`)));
  });
  return {
    pid: child.pid!,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
      return undefined;
    },
  };
}

function countersFrom(lines: string[]): EngineCounters | undefined {
  for (const line of lines.slice().reverse()) {
    if (!line.includes('pg-event-triggers stopped')) continue;
    try {
      return (JSON.parse(line) as { stats?: EngineCounters }).stats;
    } catch {
      return undefined;
    }
  }
  return undefined;
}
