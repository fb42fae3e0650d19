/** The rows of a trigger's tabs: events (with Redeliver for those settled) and attempts. */
import { clipped, h, statusBadge, timeElement } from '../dom.js';
import { formatBytes } from '../json.js';
import { href } from '../router.js';
import type { EventRow, InvocationRow } from '../types.js';
import type { Tab } from './logTabs.js';

export function eventTable(rows: EventRow[], tab: Tab, redeliver: (eventId: string, button: HTMLButtonElement) => void): HTMLElement {
  if (rows.length === 0) return h('p', { class: 'empty' }, tab === 'pending' ? 'No pending events.' : 'No processed events match.');
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'events' },
      h('caption', { class: 'visually-hidden' }, tab === 'pending' ? 'Pending events' : 'Processed events'),
      h(
        'colgroup',
        {},
        h('col', { class: 'col-time' }),
        h('col', { class: 'col-id' }),
        h('col', { class: 'col-op' }),
        h('col', { class: 'col-status' }),
        h('col', { class: 'col-tries' }),
        h('col', { class: 'col-time' }),
        h('col', { class: 'col-preview' }),
        h('col', { class: 'col-action' }),
      ),
      h(
        'thead',
        {},
        h('tr', {}, ...['Created', 'Event', 'Op', 'Status', 'Tries', 'Next retry', 'Data', ''].map((t) => h('th', { scope: 'col' }, t))),
      ),
      h(
        'tbody',
        {},
        ...rows.map((e) =>
          h(
            'tr',
            { 'data-event': e.id },
            h('td', {}, timeElement(e.created_at)),
            h(
              'td',
              {},
              h(
                'a',
                {
                  href: href(['events', e.id]),
                  class: 'mono clip',
                  title: e.id,
                  'aria-label': `Event ${e.id}`,
                  'data-key': `${e.id}:link`,
                },
                e.id.slice(0, 8),
              ),
            ),
            h('td', {}, e.op ?? '—'),
            h('td', {}, statusBadge(e.status)),
            h('td', { class: 'num' }, e.tries),
            h('td', {}, e.next_retry_at ? timeElement(e.next_retry_at, true) : h('span', { class: 'muted' }, '—')),
            h('td', {}, clipped(e.payload_preview, 'mono'), h('span', { class: 'hint' }, ` ${formatBytes(e.payload_bytes)}`)),
            h('td', {}, actionFor(e, redeliver)),
          ),
        ),
      ),
    ),
  );
}

export function invocationTable(rows: InvocationRow[]): HTMLElement {
  if (rows.length === 0) return h('p', { class: 'empty' }, 'No attempts match.');
  const durations = rows.some((r) => r.duration_ms !== undefined); // a daemon that records them
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'invocations' },
      h('caption', { class: 'visually-hidden' }, 'Invocation logs'),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ...['Time', 'Event', 'HTTP status', 'Outcome', ...(durations ? ['Duration'] : []), 'Response'].map((t) =>
            h('th', { scope: 'col' }, t),
          ),
        ),
      ),
      h(
        'tbody',
        {},
        ...rows.map((l) => {
          const ok = l.http_status !== null && l.http_status >= 200 && l.http_status < 300;
          return h(
            'tr',
            {},
            h('td', {}, timeElement(l.created_at)),
            h(
              'td',
              {},
              h(
                'a',
                { href: href(['events', l.event_id]), class: 'mono', title: l.event_id, 'aria-label': `Event ${l.event_id}` },
                l.event_id.slice(0, 8),
              ),
            ),
            h('td', { class: 'num' }, l.http_status ?? 'none'),
            h('td', {}, statusBadge(ok ? 'delivered' : 'error')),
            durations ? h('td', { class: 'num' }, l.duration_ms == null ? '—' : `${l.duration_ms} ms`) : null,
            h('td', {}, clipped(l.response_preview, 'mono')),
          );
        }),
      ),
    ),
  );
}

/**
 * Redeliver for a settled event; for one waiting for its retry, Retry now (the same operation: it is
 * delivered at once, its tries counted afresh). An event being delivered has none: the API would answer busy.
 */
function actionFor(e: EventRow, redeliver: (eventId: string, button: HTMLButtonElement) => void): HTMLElement | null {
  const label = e.status === 'error' || e.status === 'delivered' ? 'Redeliver' : e.status === 'retrying' ? 'Retry now' : undefined;
  if (label === undefined) return null;
  const button = h(
    'button',
    { type: 'button', class: 'small', 'data-key': `${e.id}:redeliver`, 'aria-label': `${label}: event ${e.id}` },
    label,
  );
  button.addEventListener('click', () => redeliver(e.id, button));
  return button;
}
