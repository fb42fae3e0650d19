/**
 * GET /v1/metrics, parsed with parse-prometheus-text-format: the families with their TYPE and HELP, and
 * every sample with its labels. The library reads labelled histograms wrongly (it merges every series of a
 * family into one, and drops labelled _sum and _count), so each sample line is also parsed on its own,
 * as an untyped family of one sample, and histograms are put together from those.
 */
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { request } from 'undici';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface HistogramSeries {
  /** Cumulative counts by upper bound, in the order exposed ("+Inf" last). */
  buckets: Array<[le: string, count: number]>;
  count: number;
  sum: number;
}

export class Scrape {
  readonly families: Map<string, { type: string; help: string }>;
  readonly samples: Sample[];

  constructor(readonly text: string) {
    this.families = new Map(parsePrometheusTextFormat(text).map((f) => [f.name, { type: f.type, help: f.help }]));
    this.samples = text
      .split('\n')
      .filter((line) => line.trim() !== '' && !line.startsWith('#'))
      .map((line) => {
        // The line ending matters: the library ends a family at a line after it.
        const [family] = parsePrometheusTextFormat(`${line}\n`);
        const sample = family?.metrics[0];
        if (!family || sample?.value === undefined) throw new Error(`not a sample line: ${line}`);
        return { name: family.name, labels: sample.labels ?? {}, value: Number(sample.value) };
      });
  }

  /** Samples of `name` whose labels include `labels`. */
  find(name: string, labels: Record<string, string> = {}): Sample[] {
    return this.samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  }

  /** The one sample of `name` with `labels` (all of its labels but those not given must match); throws unless exactly one. */
  value(name: string, labels: Record<string, string> = {}): number {
    const found = this.find(name, labels);
    if (found.length !== 1) throw new Error(`${found.length} samples of ${name} ${JSON.stringify(labels)}`);
    return found[0]!.value;
  }

  /** The histogram series of `name` with `labels`. */
  histogram(name: string, labels: Record<string, string> = {}): HistogramSeries {
    return {
      buckets: this.find(`${name}_bucket`, labels).map((s) => [s.labels.le!, s.value]),
      count: this.value(`${name}_count`, labels),
      sum: this.value(`${name}_sum`, labels),
    };
  }
}

export async function scrapeMetrics(url: string, headers: Record<string, string> = {}): Promise<Scrape> {
  const res = await request(url, { headers });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`GET ${url} answered ${res.statusCode}: ${text}`);
  return new Scrape(text);
}
