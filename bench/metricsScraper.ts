/**
 * BENCH_SCRAPE_MS: a stand-in for Prometheus that GETs a daemon's /v1/metrics every so often while the
 * daemon runs (one scrape at a time, as Prometheus scrapes a target), so a run shows what being
 * scraped costs the daemon's throughput, beside what the scrapes themselves took.
 */
import { request } from 'undici';
import { percentile } from './report.js';

export interface ScrapeReport {
  scrapes: number;
  failed: number;
  p50Ms: number;
  maxMs: number;
  /** Size of the last exposition. */
  bytes: number;
}

export function startScraper(apiUrl: string, intervalMs: number): { stop(): Promise<ScrapeReport> } {
  const durations: number[] = [];
  let failed = 0;
  let bytes = 0;
  let running = true;
  let wake: (() => void) | undefined;
  const loop = (async () => {
    while (running) {
      const started = performance.now();
      try {
        const response = await request(`${apiUrl}/v1/metrics`);
        const text = await response.body.text();
        if (response.statusCode === 200) bytes = Buffer.byteLength(text);
        else failed += 1;
      } catch {
        failed += 1;
      }
      durations.push(performance.now() - started);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, intervalMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  })();
  return {
    async stop() {
      running = false;
      wake?.();
      await loop;
      return { scrapes: durations.length, failed, p50Ms: percentile(durations, 50), maxMs: Math.max(0, ...durations), bytes };
    },
  };
}
