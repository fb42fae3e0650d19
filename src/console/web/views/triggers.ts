/**
 * The first page: the last hour at a glance (all triggers), then every trigger with what it captures,
 * where it sends, its retries and its counts, refreshed every few seconds. A failed count links to the
 * trigger's failed events: from here a failed event is two clicks from its Redeliver button.
 */
import { query } from '../api.js';
import { fetchFlowControl, type Circuit } from '../flowControl.js';
import { clipped, formatCount, formatTime, h, replaceContent, takeFlash } from '../dom.js';
import { poll } from '../poll.js';
import { href, type Stop } from '../router.js';
import type { CountName, DeliveryStats, TriggerList, TriggerSummary } from '../types.js';
import { deliveryChart } from './chart.js';
import { circuitElement, operationsElement, retryShort, retryText, webhookElement } from './describe.js';

const LIST_REFRESH_MS = 3000;
const CHART_REFRESH_MS = 10_000;

export function showTriggers(main: HTMLElement): Stop {
  const chartArea = h('div', { class: 'chart-area' }, h('p', { class: 'muted' }, 'Loading…'));
  const glanceArea = h('div', { class: 'glance-area' });
  const listArea = h('div', { class: 'list-area' }, h('p', { class: 'muted' }, 'Loading…'));
  const updated = h('p', { class: 'hint updated', 'aria-live': 'off' });
  replaceContent(
    main,
    h('div', { class: 'page-head' }, h('h1', {}, 'Event triggers'), h('a', { class: 'button primary', href: '#/new' }, 'New trigger')),
    takeFlash(),
    h(
      'section',
      { 'aria-labelledby': 'health-title', class: 'panel' },
      h('h2', { id: 'health-title', class: 'small-heading' }, 'Health'),
      h('div', { class: 'health' }, chartArea, glanceArea),
    ),
    h('section', { 'aria-labelledby': 'list-title' }, h('h2', { id: 'list-title' }, 'Triggers'), updated, listArea),
  );

  let lastList = '';
  const list = poll(LIST_REFRESH_MS, async () => {
    const [answer, flow] = await Promise.all([query<TriggerList>('get_event_triggers', {}), fetchFlowControl().catch(() => undefined)]);
    updated.textContent = `Updated ${formatTime(new Date().toISOString()).slice(11)}; counts refresh every ${LIST_REFRESH_MS / 1000} s.`;
    // Rebuild only when something changed, so a keyboard user's focus and a reader's place stay put.
    const key = JSON.stringify([answer.triggers, [...(flow ?? new Map<string, Circuit>()).entries()]]);
    if (key === lastList) return;
    lastList = key;
    replaceContent(listArea, triggerTable(answer, flow));
    replaceContent(glanceArea, glance(answer, flow));
  });
  const chart = poll(CHART_REFRESH_MS, async () => {
    const stats = await query<DeliveryStats>('get_delivery_stats', {});
    replaceContent(chartArea, deliveryChart(stats, 'Attempts per minute, all triggers, last hour'));
  });
  list.now();
  chart.now();
  return () => {
    list.stop();
    chart.stop();
  };
}

/** The whole in a few lines: what waits, what failed and where, what is cut off by an open circuit. */
function glance(answer: TriggerList, flow: Map<string, Circuit> | undefined): HTMLElement {
  const sum = (name: CountName) => answer.triggers.reduce((n, t) => n + t.counts[name], 0);
  const atLeast = (name: CountName) => answer.triggers.some((t) => t.counts_at_least.includes(name));
  const failing = answer.triggers.filter((t) => t.counts.failed > 0);
  const open = flow ? [...flow.values()].filter((c) => c.circuit.state !== 'closed') : [];
  const links = (triggers: string[], params: Record<string, string>) =>
    triggers.flatMap((name, i) => [
      i > 0 ? ', ' : '',
      h('a', { href: href(['triggers', name], params), class: 'clip glance-link', title: name }, name),
    ]);
  return h(
    'ul',
    { class: 'glance', 'aria-label': 'At a glance' },
    h('li', {}, h('strong', {}, formatCount(answer.triggers.length)), answer.triggers.length === 1 ? ' trigger' : ' triggers'),
    h(
      'li',
      {},
      h('strong', {}, formatCount(sum('pending'), atLeast('pending'))),
      ' pending',
      sum('retrying') > 0 ? `, ${formatCount(sum('retrying'), atLeast('retrying'))} of them retrying` : '',
    ),
    h(
      'li',
      {},
      h('strong', { class: failing.length ? 'warning' : '' }, formatCount(sum('failed'), atLeast('failed'))),
      ' failed',
      failing.length
        ? h(
            'span',
            {},
            ' in ',
            ...links(
              failing.map((t) => t.name),
              { tab: 'processed', status: 'error' },
            ),
          )
        : null,
    ),
    h('li', {}, h('strong', {}, formatCount(sum('delivered'), atLeast('delivered'))), ' delivered in 24 h'),
    flow
      ? h(
          'li',
          {},
          h('strong', { class: open.length ? 'warning' : '' }, formatCount(open.length)),
          ' open circuits',
          open.length
            ? h(
                'span',
                {},
                ': ',
                ...links(
                  open.map((c) => c.name),
                  {},
                ),
              )
            : null,
        )
      : null,
  );
}

function count(t: TriggerSummary, name: CountName, tab: string, status?: string): HTMLElement {
  const n = t.counts[name];
  const text = formatCount(n, t.counts_at_least.includes(name));
  const cls = n === 0 ? 'count zero' : `count count-${name}`;
  if (n === 0) return h('span', { class: cls }, text);
  return h(
    'a',
    {
      class: cls,
      href: href(['triggers', t.name], { tab, status }),
      'data-key': `${t.name}:${name}`,
      'aria-label': `${text} ${name} events of ${t.name}`,
    },
    text,
  );
}

function triggerTable(answer: TriggerList, flow: Map<string, Circuit> | undefined): HTMLElement {
  if (answer.triggers.length === 0) {
    return h(
      'div',
      { class: 'empty' },
      h('p', {}, 'No event triggers yet.'),
      h('p', {}, h('a', { href: '#/new' }, 'Create one'), ': pick a table, the operations to capture and a webhook to call.'),
    );
  }
  const since = formatTime(answer.delivered_since);
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'triggers' },
      h('caption', { class: 'visually-hidden' }, 'Event triggers with their counts of events'),
      h(
        'colgroup',
        {},
        h('col', { class: 'col-name' }),
        h('col', { class: 'col-table' }),
        h('col', { class: 'col-ops' }),
        h('col', { class: 'col-webhook' }),
        h('col', { class: 'col-retry' }),
        h('col', { class: 'col-count' }),
        h('col', { class: 'col-count' }),
        h('col', { class: 'col-count' }),
        flow ? h('col', { class: 'col-circuit' }) : null,
      ),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          h('th', { scope: 'col' }, 'Name'),
          h('th', { scope: 'col' }, 'Table'),
          h('th', { scope: 'col' }, 'Operations'),
          h('th', { scope: 'col' }, 'Webhook'),
          h('th', { scope: 'col' }, 'Retries'),
          h('th', { scope: 'col', class: 'num' }, 'Pending'),
          h('th', { scope: 'col', class: 'num' }, 'Failed'),
          h('th', { scope: 'col', class: 'num', title: `Events created since ${since} and delivered` }, 'Delivered (24 h)'),
          flow ? h('th', { scope: 'col' }, 'Circuit') : null,
        ),
      ),
      h(
        'tbody',
        {},
        ...answer.triggers.map((t) =>
          h(
            'tr',
            { 'data-trigger': t.name },
            h(
              'th',
              { scope: 'row' },
              h('a', { href: href(['triggers', t.name]), class: 'clip', title: t.name, 'data-key': `${t.name}:link` }, t.name),
            ),
            h(
              'td',
              {},
              clipped(`${t.table.schema}.${t.table.name}`),
              t.table_exists ? null : h('span', { class: 'warning' }, ' (dropped)'),
            ),
            h('td', {}, operationsElement(t.definition)),
            h('td', {}, webhookElement(t.definition)),
            h('td', { title: retryText(t.definition) }, retryShort(t.definition)),
            h(
              'td',
              { class: 'num', 'data-count': 'pending' },
              count(t, 'pending', 'pending'),
              t.counts.retrying > 0 ? h('span', { class: 'hint sub' }, `${formatCount(t.counts.retrying)} retrying`) : null,
            ),
            h('td', { class: 'num', 'data-count': 'failed' }, count(t, 'failed', 'processed', 'error')),
            h('td', { class: 'num', 'data-count': 'delivered' }, count(t, 'delivered', 'processed', 'delivered')),
            flow ? h('td', {}, circuitElement(flow.get(t.name))) : null,
          ),
        ),
      ),
    ),
  );
}
