/**
 * A trigger's events and attempts in three tabs, as in Hasura's console: Pending, Processed (delivered
 * and failed) and Invocation logs. Each has filters (status, time range, event id), pages newest first,
 * and refreshes itself while its first page is shown. The tab and filters live in the address.
 */
import { ApiFailure, query } from '../api.js';
import { announce, h, replaceContent } from '../dom.js';
import { poll, type Poller } from '../poll.js';
import { replaceParams, type Stop } from '../router.js';
import type { EventRow, InvocationRow } from '../types.js';
import { eventTable, invocationTable } from './logRows.js';

export type Tab = 'pending' | 'processed' | 'invocations';
const TABS: Array<[Tab, string]> = [
  ['pending', 'Pending'],
  ['processed', 'Processed'],
  ['invocations', 'Invocation logs'],
];
const STATUSES: Record<Tab, Array<[string, string]>> = {
  pending: [['pending', 'Pending and retrying']],
  processed: [
    ['processed', 'Delivered and failed'],
    ['error', 'Failed'],
    ['delivered', 'Delivered'],
  ],
  invocations: [
    ['all', 'All attempts'],
    ['failure', 'Failures'],
    ['success', 'Successes'],
  ],
};
const RANGES: Array<[string, string, number]> = [
  ['', 'Any time', 0],
  ['15m', 'Last 15 minutes', 15 * 60_000],
  ['1h', 'Last hour', 3_600_000],
  ['24h', 'Last 24 hours', 86_400_000],
  ['7d', 'Last 7 days', 7 * 86_400_000],
  ['custom', 'Custom range', 0],
];
const PAGE_SIZES = ['25', '50', '100'];
const REFRESH_MS = 3000;

interface State {
  tab: Tab;
  status: string;
  range: string;
  from: string;
  to: string;
  event: string;
  page: number;
  size: string;
}

function stateFrom(params: URLSearchParams): State {
  const tab = TABS.find(([t]) => t === params.get('tab'))?.[0] ?? 'pending';
  const status = STATUSES[tab].find(([s]) => s === params.get('status'))?.[0] ?? STATUSES[tab][0]![0];
  return {
    tab,
    status,
    range: RANGES.find(([r]) => r === params.get('range'))?.[0] ?? '',
    from: params.get('from') ?? '',
    to: params.get('to') ?? '',
    event: params.get('event') ?? '',
    page: Math.max(0, Number.parseInt(params.get('page') ?? '0', 10) || 0),
    size: PAGE_SIZES.includes(params.get('size') ?? '') ? params.get('size')! : '50',
  };
}

/** `datetime-local` text (the browser's zone) to ISO-8601 UTC, or undefined. */
function isoOf(local: string): string | undefined {
  if (!local) return undefined;
  const d = new Date(local);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

export function logTabs(name: string, params: URLSearchParams, onRedelivered: () => void): { element: HTMLElement; stop: Stop } {
  const state = stateFrom(params);
  const tabButtons = new Map<Tab, HTMLButtonElement>();
  const panel = h('div', { role: 'tabpanel', id: 'log-panel', tabindex: -1, class: 'tab-panel' });
  const tablist = h('div', { role: 'tablist', 'aria-label': 'Events of this trigger', class: 'tabs' });
  for (const [tab, label] of TABS) {
    const button = h('button', { type: 'button', role: 'tab', id: `tab-${tab}`, 'aria-controls': 'log-panel' }, label);
    button.addEventListener('click', () => selectTab(tab));
    button.addEventListener('keydown', (event) => {
      // Arrow keys move between tabs (the WAI-ARIA tabs pattern); Tab moves into the panel.
      const order = TABS.map(([t]) => t);
      const i = order.indexOf(tab);
      const next =
        event.key === 'ArrowRight'
          ? order[(i + 1) % order.length]
          : event.key === 'ArrowLeft'
            ? order[(i + order.length - 1) % order.length]
            : event.key === 'Home'
              ? order[0]
              : event.key === 'End'
                ? order.at(-1)
                : undefined;
      if (next === undefined) return;
      event.preventDefault();
      selectTab(next);
      tabButtons.get(next)!.focus();
    });
    tabButtons.set(tab, button);
    tablist.append(button);
  }

  let poller: Poller | undefined;
  const results = h('div', { class: 'results' });
  const summary = h('p', { class: 'hint', role: 'status' });

  const save = () =>
    replaceParams({
      tab: state.tab,
      status: state.status === STATUSES[state.tab][0]![0] ? undefined : state.status,
      range: state.range || undefined,
      from: state.range === 'custom' ? state.from : undefined,
      to: state.range === 'custom' ? state.to : undefined,
      event: state.event || undefined,
      page: state.page ? String(state.page) : undefined,
      size: state.size === '50' ? undefined : state.size,
    });

  function selectTab(tab: Tab) {
    if (tab !== state.tab) {
      state.tab = tab;
      state.status = STATUSES[tab][0]![0];
      state.page = 0;
    }
    for (const [t, button] of tabButtons) {
      button.setAttribute('aria-selected', String(t === state.tab));
      button.tabIndex = t === state.tab ? 0 : -1;
    }
    panel.setAttribute('aria-labelledby', `tab-${state.tab}`);
    save();
    renderPanel();
  }

  function renderPanel() {
    replaceContent(panel, filtersForm(), summary, results);
    reload();
  }

  function filtersForm(): HTMLElement {
    const statusSelect = select('filter-status', STATUSES[state.tab], state.status);
    const rangeSelect = select(
      'filter-range',
      RANGES.map(([v, l]) => [v, l]),
      state.range,
    );
    const from = h('input', { id: 'filter-from', type: 'datetime-local', value: state.from, step: 1 });
    const to = h('input', { id: 'filter-to', type: 'datetime-local', value: state.to, step: 1 });
    const custom = h('div', { class: 'custom-range' }, field('filter-from', 'From', from), field('filter-to', 'To', to));
    custom.hidden = state.range !== 'custom';
    const eventInput = h('input', {
      id: 'filter-event',
      type: 'search',
      value: state.event,
      placeholder: 'ea9f516d-…',
      spellcheck: false,
      autocomplete: 'off',
    });
    const sizeSelect = select(
      'filter-size',
      PAGE_SIZES.map((s) => [s, `${s} a page`]),
      state.size,
    );
    const apply = () => {
      state.status = statusSelect.value;
      state.range = rangeSelect.value;
      state.from = from.value;
      state.to = to.value;
      state.event = eventInput.value.trim();
      state.size = sizeSelect.value;
      state.page = 0;
      custom.hidden = state.range !== 'custom';
      save();
      reload();
    };
    for (const control of [statusSelect, rangeSelect, from, to, sizeSelect]) control.addEventListener('change', apply);
    const form = h(
      'form',
      { class: 'filters', 'aria-label': 'Filters' },
      state.tab === 'pending' ? null : field('filter-status', 'Status', statusSelect),
      field('filter-range', 'Created', rangeSelect),
      custom,
      field('filter-event', 'Event id', eventInput),
      field('filter-size', 'Page size', sizeSelect),
      h('button', { type: 'submit', class: 'small' }, 'Apply'),
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      apply();
    });
    return form;
  }

  function range(): { since?: string; until?: string } {
    if (state.range === 'custom') return { since: isoOf(state.from), until: isoOf(state.to) };
    const span = RANGES.find(([r]) => r === state.range)?.[2] ?? 0;
    return span ? { since: new Date(Date.now() - span).toISOString() } : {};
  }

  function reload() {
    poller?.stop();
    poller = poll(REFRESH_MS, refresh);
    poller.now();
  }

  let lastKey = '';
  async function refresh() {
    const size = Number(state.size);
    const args = {
      name,
      status: state.status,
      ...range(),
      limit: size,
      offset: state.page * size,
      ...(state.event ? { event_id: state.event } : {}),
    };
    let rows: EventRow[] | InvocationRow[];
    let hasMore: boolean;
    try {
      if (state.tab === 'invocations') {
        const answer = await query<{ invocations: InvocationRow[]; has_more: boolean }>('search_event_invocation_logs', args);
        rows = answer.invocations;
        hasMore = answer.has_more;
      } else {
        const answer = await query<{ events: EventRow[]; has_more: boolean }>('search_event_logs', args);
        rows = answer.events;
        hasMore = answer.has_more;
      }
    } catch (error) {
      if (!(error instanceof ApiFailure)) throw error;
      // A filter the API refuses (a malformed event id): say which, and stop asking until it changes.
      poller?.stop();
      lastKey = '';
      replaceContent(results, h('p', { class: 'field-error', role: 'alert' }, filterError(error)));
      summary.textContent = '';
      return;
    }
    // Later pages stay as they were read: only the first one follows new events.
    if (state.page > 0) poller?.stop();
    const key = JSON.stringify([state, rows, hasMore]);
    if (key === lastKey) return;
    lastKey = key;
    const first = state.page * size + 1;
    summary.textContent =
      rows.length === 0
        ? 'Nothing matches.'
        : `Showing ${first}–${first + rows.length - 1}, newest first${state.page === 0 ? '; refreshed every 3 s' : ''}.`;
    replaceContent(
      results,
      state.tab === 'invocations' ? invocationTable(rows as InvocationRow[]) : eventTable(rows as EventRow[], state.tab, redeliverFromList),
      pager(hasMore),
    );
  }

  function pager(hasMore: boolean): HTMLElement {
    const newer = h('button', { type: 'button', class: 'small', disabled: state.page === 0, 'data-key': 'newer' }, '← Newer');
    const older = h('button', { type: 'button', class: 'small', disabled: !hasMore, 'data-key': 'older' }, 'Older →');
    newer.addEventListener('click', () => turn(-1));
    older.addEventListener('click', () => turn(1));
    return h('nav', { class: 'pager', 'aria-label': 'Pages' }, newer, h('span', { class: 'hint' }, `Page ${state.page + 1}`), older);
  }

  function turn(delta: number) {
    state.page = Math.max(0, state.page + delta);
    save();
    reload();
  }

  /** Redelivers one event of the list, and says so above it. */
  function redeliverFromList(eventId: string, button: HTMLButtonElement) {
    button.disabled = true;
    query('redeliver_event', { event_id: eventId }).then(
      () => {
        announce(`Event ${eventId.slice(0, 8)} will be delivered again.`);
        summary.textContent = `Event ${eventId.slice(0, 8)} will be delivered again: see it under Pending, or open it to watch.`;
        onRedelivered();
        poller?.now();
      },
      (error: unknown) => {
        button.disabled = false;
        summary.textContent = `Event ${eventId.slice(0, 8)} was not redelivered: ${(error as Error).message}`;
      },
    );
  }

  selectTab(state.tab);
  return { element: h('section', { 'aria-label': 'Events', class: 'log-tabs' }, tablist, panel), stop: () => poller?.stop() };
}

function filterError(error: ApiFailure): string {
  const key = error.path.split('.').at(-1);
  const label = key === 'event_id' ? 'Event id' : key === 'since' ? 'From' : key === 'until' ? 'To' : 'Filter';
  return `${label}: ${error.message}`;
}

function select(id: string, options: Array<[string, string]>, value: string): HTMLSelectElement {
  return h('select', { id, 'data-key': id }, ...options.map(([v, label]) => h('option', { value: v, selected: v === value }, label)));
}

function field(id: string, label: string, control: HTMLElement): HTMLElement {
  return h('div', { class: 'field inline' }, h('label', { for: id }, label), control);
}
