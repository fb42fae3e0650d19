/**
 * One event: its state, tries and next retry, its payload, every attempt (request headers, status,
 * response, duration) and Redeliver. The state is polled lightly (search_event_logs: no payload) and the
 * whole event read again only when it changed, so a 1 MB payload is not fetched every second; after
 * Redeliver the polling quickens until the event settles, so the user sees it go pending, then
 * delivered or failed, without reloading.
 */
import { ApiFailure, query } from '../api.js';
import { announce, clipped, h, replaceContent, statusBadge, timeElement } from '../dom.js';
import { poll } from '../poll.js';
import { href, type Route, type Stop } from '../router.js';
import type { Event, EventRow, Invocation, TriggerList } from '../types.js';
import { jsonBlock } from './payload.js';

const IDLE_MS = 3000;
const WATCH_MS = 500;
const ATTEMPTS_PAGE = 10;

interface Detail {
  event: Event;
  invocations: Invocation[];
}

export function showEvent(main: HTMLElement, route: Route): Stop {
  const id = route.path[1]!;
  const head = h('div', { class: 'page-head' }, h('h1', { class: 'wrap' }, 'Event ', h('span', { class: 'mono' }, id)));
  const breadcrumb = h('nav', { 'aria-label': 'Breadcrumb', class: 'breadcrumb' }, h('a', { href: '#/' }, 'Triggers'));
  const state = h('section', { 'aria-label': 'State', class: 'panel event-state' }, h('p', { class: 'muted' }, 'Loading…'));
  const message = h('p', { class: 'notice', role: 'status', hidden: true });
  const payload = h('section', { 'aria-labelledby': 'payload-title' });
  const attempts = h('section', { 'aria-labelledby': 'attempts-title' });
  const redeliver = h('button', { type: 'button', class: 'primary', disabled: true }, 'Redeliver');
  head.append(h('div', { class: 'actions' }, redeliver));
  replaceContent(main, breadcrumb, head, message, state, payload, attempts);

  let attemptLimit = ATTEMPTS_PAGE;
  let detail: Detail | undefined;
  let watching = false;
  let lightKey = '';
  let maxTriesFor: number | undefined;

  const load = async () => {
    const loaded = await query<Detail>('get_event_by_id', { event_id: id, invocation_log_limit: attemptLimit });
    // The first time, also how many tries its trigger allows ("2 of 4"), before anything is shown.
    if (!detail) await loadRetries(loaded.event.trigger_name);
    detail = loaded;
    const e = detail.event;
    lightKey = lightKeyOf(e.status, e.tries, e.next_retry_at, e.locked_by, detail.invocations[0]?.id);
    render(detail);
  };

  const render = (d: Detail) => {
    const e = d.event;
    replaceContent(
      breadcrumb,
      h('a', { href: '#/' }, 'Triggers'),
      ' › ',
      h('a', { href: href(['triggers', e.trigger_name]) }, clipped(e.trigger_name)),
      ' › ',
      `Event ${id.slice(0, 8)}`,
    );
    redeliver.disabled = e.archived;
    redeliver.title = e.archived ? 'Its trigger was deleted: nothing would deliver it' : '';
    const tries = maxTriesFor === undefined ? String(e.tries) : `${e.tries} of ${maxTriesFor}`;
    replaceContent(
      state,
      h(
        'dl',
        { class: 'definition' },
        h('dt', {}, 'Status'),
        h(
          'dd',
          { 'data-testid': 'event-status' },
          statusBadge(e.status),
          e.status === 'retrying' || e.status === 'pending' ? h('span', { class: 'hint' }, ' (will be delivered)') : null,
        ),
        h('dt', {}, 'Trigger'),
        h('dd', {}, h('a', { href: href(['triggers', e.trigger_name]) }, clipped(e.trigger_name))),
        h('dt', {}, 'Table'),
        h('dd', {}, clipped(`${e.schema_name}.${e.table_name}`)),
        h('dt', {}, 'Operation'),
        h('dd', {}, String((e.payload as { op?: string } | null)?.op ?? '—')),
        h('dt', {}, 'Created'),
        h('dd', {}, timeElement(e.created_at, true)),
        h('dt', {}, 'Tries'),
        h('dd', { 'data-testid': 'event-tries' }, tries),
        h('dt', {}, 'Next retry'),
        h(
          'dd',
          {},
          e.next_retry_at ? timeElement(e.next_retry_at, true) : h('span', { class: 'muted' }, e.status === 'retrying' ? 'soon' : '—'),
        ),
        e.locked_by ? h('dt', {}, 'Held by daemon') : null,
        e.locked_by ? h('dd', { class: 'mono' }, e.locked_by) : null,
      ),
    );
    if (!payload.firstChild) {
      // The payload never changes: built once (a 1 MB one takes a moment to lay out).
      replaceContent(payload, h('h2', { id: 'payload-title' }, 'Payload'), jsonBlock(e.payload, 'Payload'));
    }
    replaceContent(
      attempts,
      h('h2', { id: 'attempts-title' }, `Attempts (${d.invocations.length}${d.invocations.length === attemptLimit ? '+' : ''})`),
      attemptList(d.invocations, attemptLimit, () => {
        attemptLimit += ATTEMPTS_PAGE;
        void load();
      }),
    );
  };

  const refresh = async () => {
    if (!detail) {
      try {
        await load();
      } catch (error) {
        if (error instanceof ApiFailure && error.code === 'not-exists') {
          replaceContent(state, h('p', { role: 'alert' }, `There is no event with id ${id}.`));
          poller.stop();
          return;
        }
        throw error;
      }
      return;
    }
    // Light first: the status, tries and newest attempt of this event, without its payload.
    const name = detail.event.trigger_name;
    const [events, logs] = await Promise.all([
      query<{ events: EventRow[] }>('search_event_logs', { name, event_id: id, limit: 1 }),
      query<{ invocations: Array<{ id: string }> }>('search_event_invocation_logs', { name, event_id: id, limit: 1 }),
    ]);
    const row = events.events[0];
    const key = lightKeyOf(row?.status, row?.tries, row?.next_retry_at, row?.locked_by, logs.invocations[0]?.id);
    if (key === lightKey) return;
    const before = detail.event.status;
    await load();
    const after = detail.event.status;
    if (after !== before) announce(`Event is now ${after === 'error' ? 'failed' : after}.`);
    if (watching && (after === 'delivered' || after === 'error')) {
      watching = false;
      poller.setInterval(IDLE_MS);
      showMessage(after === 'delivered' ? 'Redelivered: the webhook accepted it.' : 'Redelivery failed: see the newest attempt.');
    }
  };

  const loadRetries = async (name: string) => {
    try {
      const list = await query<TriggerList>('get_event_triggers', { name });
      const conf = list.triggers[0]?.definition.retry_conf;
      if (conf) maxTriesFor = conf.num_retries + 1;
    } catch {
      maxTriesFor = undefined; // its trigger was deleted: tries alone
    }
  };

  const showMessage = (text: string) => {
    message.hidden = false;
    message.textContent = text;
  };

  redeliver.addEventListener('click', () => {
    redeliver.disabled = true;
    query('redeliver_event', { event_id: id }).then(
      () => {
        watching = true;
        showMessage('Redelivery requested: watching it…');
        announce('Redelivery requested.');
        poller.setInterval(WATCH_MS);
        poller.now();
        redeliver.disabled = false;
      },
      (error: unknown) => {
        redeliver.disabled = false;
        showMessage(`Not redelivered: ${(error as Error).message}`);
      },
    );
  });

  const poller = poll(IDLE_MS, refresh);
  poller.now();
  return () => poller.stop();
}

/** What the light poll compares: a change in any of these means the event moved. */
const lightKeyOf = (...fields: unknown[]) => JSON.stringify(fields);

function attemptList(invocations: Invocation[], limit: number, more: () => void): HTMLElement {
  if (invocations.length === 0) return h('p', { class: 'empty' }, 'No attempt yet.');
  const items = invocations.map((l, i) => {
    const ok = l.http_status !== null && l.http_status >= 200 && l.http_status < 300;
    const number = invocations.length - i;
    const headers = l.request.headers ?? [];
    const data = l.response.data ?? {};
    const body = ok ? data.body : data.message;
    return h(
      'li',
      {},
      h(
        'details',
        { open: i === 0 },
        h(
          'summary',
          {},
          h('span', { class: 'attempt-number' }, `#${number}`),
          ' ',
          timeElement(l.created_at),
          ' ',
          statusBadge(ok ? 'delivered' : 'error'),
          ' ',
          l.http_status === null ? 'no response' : `HTTP ${l.http_status}`,
          l.duration_ms == null ? null : h('span', { class: 'hint' }, ` ${l.duration_ms} ms`),
        ),
        h('h3', {}, 'Request headers'),
        headers.length === 0
          ? h('p', { class: 'muted' }, 'none')
          : h(
              'table',
              { class: 'headers' },
              h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Name'), h('th', { scope: 'col' }, 'Value'))),
              h(
                'tbody',
                {},
                ...headers.map((hd) =>
                  h(
                    'tr',
                    {},
                    h('td', {}, clipped(hd.name, 'mono')),
                    h('td', {}, clipped(hd.value ?? `from env ${hd.value_from_env ?? ''}`, 'mono')),
                  ),
                ),
              ),
            ),
        h('h3', {}, ok ? 'Response body' : l.http_status === null ? 'Error' : 'Response body (failed)'),
        body === undefined || body === '' ? h('p', { class: 'muted' }, 'empty') : jsonBlock(body, `Response of attempt ${number}`),
        h(
          'details',
          { class: 'nested' },
          h('summary', {}, 'Request body as sent'),
          jsonBlock(l.request.payload ?? null, `Request of attempt ${number}`),
        ),
      ),
    );
  });
  const list = h('ol', { class: 'attempts', reversed: true }, ...items);
  if (invocations.length < limit) return list;
  const button = h('button', { type: 'button', class: 'small' }, 'Show older attempts');
  button.addEventListener('click', more);
  return h('div', {}, list, button);
}
