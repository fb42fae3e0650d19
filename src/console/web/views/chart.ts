/**
 * Health at a glance: attempts per minute over the last hour as an SVG drawn here (no charting library),
 * delivered in green with failed stacked above in red, and the average latency as a line on its own
 * scale when the daemon records attempt durations. The figures are also given as text (the chart's
 * description, and a table to open) for those who cannot see it.
 */
import { formatTime, h, svg } from '../dom.js';
import type { DeliveryStats } from '../types.js';

const WIDTH = 720;
const HEIGHT = 170;
const LEFT = 44;
const RIGHT = 52;
const TOP = 12;
const BOTTOM = 24;

let charts = 0;

/** The smallest 1, 2 or 5 times a power of ten at or above n (at least 1). */
function niceCeiling(n: number): number {
  if (n <= 1) return 1;
  const power = 10 ** Math.floor(Math.log10(n));
  for (const step of [1, 2, 5, 10]) if (step * power >= n) return step * power;
  return 10 * power;
}

const hhmm = (iso: string) => formatTime(iso).slice(11, 16);

export function deliveryChart(stats: DeliveryStats, title: string): HTMLElement {
  const id = `chart-${++charts}`;
  const minutes = stats.minutes;
  const delivered = minutes.reduce((sum, m) => sum + m.delivered, 0);
  const failed = minutes.reduce((sum, m) => sum + m.failed, 0);
  const latencies = minutes.map((m) => m.latency_ms_avg).filter((v): v is number => typeof v === 'number');
  const hasLatency = latencies.length > 0;
  const busiest = minutes.reduce((best, m) => (m.delivered + m.failed > best.delivered + best.failed ? m : best), minutes[0]!);

  const plotWidth = WIDTH - LEFT - RIGHT;
  const plotHeight = HEIGHT - TOP - BOTTOM;
  const barWidth = plotWidth / Math.max(1, minutes.length);
  const yMax = niceCeiling(Math.max(...minutes.map((m) => m.delivered + m.failed), 1));
  const latencyMax = niceCeiling(Math.max(...latencies, 1));
  const y = (n: number) => TOP + plotHeight - (n / yMax) * plotHeight;
  const x = (i: number) => LEFT + i * barWidth;

  const parts: SVGElement[] = [];
  // Grid and the left axis (attempts per minute).
  for (const fraction of [0, 0.5, 1]) {
    const value = yMax * fraction;
    parts.push(svg('line', { x1: LEFT, x2: WIDTH - RIGHT, y1: y(value), y2: y(value), class: 'grid' }));
    parts.push(svg('text', { x: LEFT - 6, y: y(value) + 4, class: 'axis', 'text-anchor': 'end' }, value.toLocaleString('en-US')));
  }
  if (stats.oldest_counted) {
    // Minutes before it were read only in part: each trigger's newest attempts are read, up to a limit.
    const cut = minutes.findIndex((m) => new Date(m.minute).getTime() + 60_000 > new Date(stats.oldest_counted!).getTime());
    if (cut > 0) {
      parts.push(
        svg(
          'rect',
          { x: LEFT, y: TOP, width: cut * barWidth, height: plotHeight, class: 'partial' },
          svg(
            'title',
            {},
            `Before ${hhmm(stats.oldest_counted)} not every attempt was counted (busy: at most ${stats.attempt_limit} a trigger)`,
          ),
        ),
      );
    }
  }
  minutes.forEach((m, i) => {
    const latency =
      typeof m.latency_ms_avg === 'number' ? `, ${Math.round(m.latency_ms_avg)} ms on average, slowest ${m.latency_ms_max ?? '?'} ms` : '';
    const label = `${hhmm(m.minute)}: ${m.delivered} delivered, ${m.failed} failed${latency}`;
    const group = svg('g', {}, svg('title', {}, label));
    if (m.delivered > 0) {
      group.append(
        svg('rect', {
          x: x(i) + 0.5,
          y: y(m.delivered),
          width: Math.max(1, barWidth - 1),
          height: y(0) - y(m.delivered),
          class: 'bar-delivered',
        }),
      );
    }
    if (m.failed > 0) {
      const top = y(m.delivered + m.failed);
      group.append(
        svg('rect', { x: x(i) + 0.5, y: top, width: Math.max(1, barWidth - 1), height: y(m.delivered) - top, class: 'bar-failed' }),
      );
    }
    parts.push(group);
    if (i % 10 === 0 || i === minutes.length - 1) {
      parts.push(svg('text', { x: x(i) + barWidth / 2, y: HEIGHT - 6, class: 'axis', 'text-anchor': 'middle' }, hhmm(m.minute)));
    }
  });
  if (hasLatency) {
    const ly = (ms: number) => TOP + plotHeight - (ms / latencyMax) * plotHeight;
    const points = minutes
      .map((m, i) => (typeof m.latency_ms_avg === 'number' ? ([x(i) + barWidth / 2, ly(m.latency_ms_avg)] as const) : undefined))
      .filter((p) => p !== undefined);
    parts.push(svg('polyline', { points: points.map(([px, py]) => `${px},${py}`).join(' '), class: 'latency' }));
    // A dot per minute as well: a minute alone (no neighbour to draw a line to) still shows.
    for (const [px, py] of points) parts.push(svg('circle', { cx: px, cy: py, r: 2.5, class: 'latency-dot' }));
    for (const fraction of [0, 0.5, 1]) {
      parts.push(
        svg('text', { x: WIDTH - RIGHT + 6, y: ly(latencyMax * fraction) + 4, class: 'axis axis-latency' }, `${latencyMax * fraction} ms`),
      );
    }
  }

  const summary =
    `${title}: ${delivered.toLocaleString('en-US')} delivered and ${failed.toLocaleString('en-US')} failed attempts in the last ` +
    `${minutes.length} minutes` +
    (delivered + failed > 0 ? `; busiest minute ${hhmm(busiest.minute)} with ${busiest.delivered + busiest.failed}` : '') +
    (hasLatency ? `; average latency ${Math.round(latencies.reduce((a, b) => a + b, 0) / latencies.length)} ms` : '') +
    '.';
  const chart = svg(
    'svg',
    { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: 'img', 'aria-labelledby': `${id}-title ${id}-desc`, class: 'chart' },
    svg('title', { id: `${id}-title` }, title),
    svg('desc', { id: `${id}-desc` }, summary),
    ...parts,
  );

  const legend = h(
    'ul',
    { class: 'legend' },
    h('li', {}, h('span', { class: 'swatch swatch-delivered', 'aria-hidden': 'true' }), `Delivered ${delivered.toLocaleString('en-US')}`),
    h('li', {}, h('span', { class: 'swatch swatch-failed', 'aria-hidden': 'true' }), `Failed ${failed.toLocaleString('en-US')}`),
    hasLatency ? h('li', {}, h('span', { class: 'swatch swatch-latency', 'aria-hidden': 'true' }), 'Average latency (right scale)') : null,
    h('li', { class: 'hint' }, 'attempts per minute'),
  );
  const busy = minutes.filter((m) => m.delivered + m.failed > 0);
  const table = h(
    'details',
    { class: 'figures' },
    h('summary', {}, 'Figures'),
    busy.length === 0
      ? h('p', {}, 'No attempts in this hour.')
      : h(
          'table',
          {},
          h('caption', { class: 'visually-hidden' }, `${title}, minutes with attempts`),
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              h('th', { scope: 'col' }, 'Minute'),
              h('th', { scope: 'col' }, 'Delivered'),
              h('th', { scope: 'col' }, 'Failed'),
              hasLatency ? h('th', { scope: 'col' }, 'Average latency') : null,
            ),
          ),
          h(
            'tbody',
            {},
            ...busy.map((m) =>
              h(
                'tr',
                {},
                h('td', {}, hhmm(m.minute)),
                h('td', {}, m.delivered),
                h('td', {}, m.failed),
                hasLatency ? h('td', {}, typeof m.latency_ms_avg === 'number' ? `${Math.round(m.latency_ms_avg)} ms` : '—') : null,
              ),
            ),
          ),
        ),
  );
  return h('figure', { class: 'chart-figure', 'data-testid': 'delivery-chart' }, chart, legend, table);
}
