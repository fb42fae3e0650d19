/**
 * Figures, their medians, and the table the benchmark prints: one row per figure, then each target
 * of the performance issue as met / not met, every ratio computed from figures of this same run.
 */

export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The p-th percentile (0..100) by nearest rank. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

interface Figure {
  label: string;
  unit: string;
  values: number[];
  note?: string;
}

export class Results {
  private readonly figures = new Map<string, Figure>();

  add(key: string, label: string, unit: string, value: number, note?: string): void {
    const figure = this.figures.get(key) ?? { label, unit, values: [], note };
    figure.values.push(value);
    if (note) figure.note = note;
    this.figures.set(key, figure);
    process.stderr.write(`  ${label}: ${format(value, unit)}\n`);
  }

  /** The median of a figure's runs, or undefined when it was not measured. */
  get(key: string): number | undefined {
    const figure = this.figures.get(key);
    return figure ? median(figure.values) : undefined;
  }

  table(): string {
    const rows = [...this.figures.values()].map((f) => [
      f.label,
      format(median(f.values), f.unit),
      f.values.length > 1 ? f.values.map((v) => format(v, f.unit, false)).join(' / ') : '',
      f.note ?? '',
    ]);
    return markdownTable(['figure', 'median', 'runs', 'note'], rows);
  }
}

export interface Target {
  goal: string;
  /** Our figure and what it is compared with, as text. */
  detail: string;
  met: boolean | undefined;
}

export function targetTable(targets: Target[]): string {
  return markdownTable(
    ['target', 'measured', 'verdict'],
    targets.map((t) => [t.goal, t.detail, t.met === undefined ? 'not measured' : t.met ? 'met' : 'NOT MET']),
  );
}

export function format(value: number, unit: string, withUnit = true): string {
  if (!Number.isFinite(value)) return 'n/a';
  const digits = Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2;
  const text = value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
  return withUnit && unit ? `${text} ${unit}` : text;
}

function markdownTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}
