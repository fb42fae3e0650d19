/**
 * `npm run soak`: the daemon under a steady load for a long time (default 10 minutes at 500 events/s),
 * its RSS sampled every 10 s. Passes (exit 0) when every event was delivered and RSS stayed flat: the
 * median RSS of the last minute within 10% of the second minute's (the first is warm-up).
 *
 * SOAK_MINUTES, SOAK_RATE and BENCH_DATABASE_URL change it.
 */
import { startDaemon, startSink } from './contenders.js';
import { rssBytes } from './processStats.js';
import { provisionBenchPostgres } from './postgres.js';
import { median } from './report.js';
import { withClient } from './scenarios.js';
import { CREATE_TABLE, insertAtRate } from './workload.js';
import { createTrigger } from './trigger.js';

const MB = 1024 * 1024;
const SAMPLE_EVERY_MS = 10_000;

async function main() {
  const minutes = Number(process.env.SOAK_MINUTES ?? 10);
  const rate = Number(process.env.SOAK_RATE ?? 500);
  if (!(minutes >= 2) || !(rate > 0)) {
    process.stderr.write('soak: SOAK_MINUTES must be at least 2 and SOAK_RATE positive\n');
    process.exit(2);
  }
  const postgres = await provisionBenchPostgres(process.env.BENCH_DATABASE_URL || undefined);
  const sink = await startSink();
  let ok = false;
  try {
    const url = await postgres.createDatabase('soak');
    await withClient(url, (client) => client.query(CREATE_TABLE));
    const daemon = await startDaemon(url);
    await createTrigger(daemon.apiUrl, sink.url);
    const samples: Array<{ at: number; rss: number }> = [];
    const began = Date.now();
    const sampler = setInterval(() => {
      const sample = { at: (Date.now() - began) / 60_000, rss: rssBytes(daemon.pid) };
      samples.push(sample);
      process.stderr.write(`soak: ${sample.at.toFixed(1)} min, RSS ${(sample.rss / MB).toFixed(1)} MB\n`);
    }, SAMPLE_EVERY_MS);
    process.stderr.write(`soak: ${rate} events/s for ${minutes} min\n`);
    const committed = await insertAtRate(url, rate, minutes * 60);
    const report = await sink.waitFor(committed.size, 120_000);
    clearInterval(sampler);
    const pending = await withClient(url, async (client) =>
      Number((await client.query<{ count: string }>('select count(*) from event_triggers.event_log where not delivered')).rows[0]!.count),
    );
    await daemon.stop();

    const during = (from: number, to: number) => median(samples.filter((s) => s.at >= from && s.at < to).map((s) => s.rss));
    const second = during(1, 2);
    const last = during(minutes - 1, minutes + 1);
    const growth = (last - second) / second;
    const flat = growth <= 0.1;
    const allDelivered = report.distinct === committed.size && pending === 0;
    process.stdout.write(
      [
        `soak: ${committed.size} events committed, ${report.distinct} delivered (${report.received - report.distinct} duplicates), ${pending} left pending`,
        `soak: RSS median ${(second / MB).toFixed(1)} MB in minute 2, ${(last / MB).toFixed(1)} MB in the last minute (${(growth * 100).toFixed(1)}%)`,
        `soak: ${allDelivered ? 'everything delivered' : 'NOT everything delivered'}; RSS ${flat ? 'flat' : 'GREW'}`,
      ].join('\n') + '\n',
    );
    ok = allDelivered && flat;
  } finally {
    sink.stop();
    await postgres.stop();
  }
  process.exit(ok ? 0 : 1);
}

main().catch((error) => {
  process.stderr.write(`soak failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
