/**
 * One trigger: its definition, counts, circuit and last hour, the actions on it (invoke, edit, delete)
 * and its events and attempts in tabs.
 */
import { ApiFailure, query } from '../api.js';
import { clipped, formatCount, h, replaceContent, setFlash, takeFlash } from '../dom.js';
import { fetchFlowControl } from '../flowControl.js';
import { poll } from '../poll.js';
import { href, navigate, type Route, type Stop } from '../router.js';
import type { CountName, DeliveryStats, TriggerList, TriggerSummary } from '../types.js';
import { deliveryChart } from './chart.js';
import { circuitElement, definitionList } from './describe.js';
import { logTabs } from './logTabs.js';

const REFRESH_MS = 3000;

export function showTrigger(main: HTMLElement, route: Route): Stop {
  const name = route.path[1]!;
  const counts = h('div', { class: 'counts', 'aria-live': 'off' });
  const circuit = h('div', { class: 'circuit-area' });
  const details = h('div', { class: 'details' }, h('p', { class: 'muted' }, 'Loading…'));
  const chartArea = h('div', { class: 'chart-area' });
  const actions = h('div', { class: 'actions' });
  const tabs = logTabs(name, route.params, () => summary.now());
  replaceContent(
    main,
    h('nav', { 'aria-label': 'Breadcrumb', class: 'breadcrumb' }, h('a', { href: '#/' }, 'Triggers'), ' › ', clipped(name)),
    h('div', { class: 'page-head' }, h('h1', { class: 'wrap' }, name), actions),
    takeFlash(),
    counts,
    circuit,
    h(
      'div',
      { class: 'two-columns' },
      h('section', { 'aria-label': 'Definition', class: 'panel' }, details),
      h('section', { 'aria-label': 'Last hour', class: 'panel' }, chartArea),
    ),
    h('h2', {}, 'Events'),
    tabs.element,
  );

  let definitionKey = '';
  const summary = poll(REFRESH_MS, async () => {
    let answer: TriggerList;
    try {
      answer = await query<TriggerList>('get_event_triggers', { name });
    } catch (error) {
      if (error instanceof ApiFailure && error.code === 'not-exists') {
        replaceContent(
          main,
          h('h1', {}, 'No such trigger'),
          h('p', {}, `There is no event trigger named “${name}”. `, h('a', { href: '#/' }, 'See all triggers'), '.'),
        );
        stop();
        return;
      }
      throw error;
    }
    const t = answer.triggers[0]!;
    replaceContent(counts, countsElement(t));
    const key = JSON.stringify([t.definition, t.table, t.table_exists]);
    if (key !== definitionKey) {
      definitionKey = key;
      replaceContent(details, definitionList(t.definition, t.table, t.table_exists));
      replaceContent(actions, ...actionButtons(t));
    }
    const flow = await fetchFlowControl(name).catch(() => undefined);
    replaceContent(circuit, flow ? h('p', {}, h('strong', {}, 'Circuit: '), circuitElement(flow.get(name))) : null);
  });
  const chart = poll(10_000, async () => {
    const stats = await query<DeliveryStats>('get_delivery_stats', { name });
    replaceContent(chartArea, h('h2', { class: 'small-heading' }, 'Last hour'), deliveryChart(stats, `Attempts per minute of ${name}`));
  });
  summary.now();
  chart.now();
  const stop = () => {
    summary.stop();
    chart.stop();
    tabs.stop();
  };
  return stop;
}

function countsElement(t: TriggerSummary): HTMLElement {
  const item = (name: CountName, label: string) =>
    h(
      'li',
      { class: `count-card count-${name}`, 'data-count': name },
      h('span', { class: 'count-value' }, formatCount(t.counts[name], t.counts_at_least.includes(name))),
      h('span', { class: 'count-label' }, label),
    );
  return h(
    'ul',
    { class: 'count-cards', 'aria-label': 'Counts of events' },
    item('pending', 'pending'),
    item('retrying', 'retrying'),
    item('failed', 'failed'),
    item('delivered', 'delivered (24 h)'),
  );
}

function actionButtons(t: TriggerSummary): HTMLElement[] {
  const buttons: HTMLElement[] = [];
  if (t.definition.enable_manual !== false) buttons.push(h('a', { class: 'button', href: href(['triggers', t.name, 'invoke']) }, 'Invoke'));
  buttons.push(h('a', { class: 'button', href: href(['triggers', t.name, 'edit']) }, 'Edit'));
  const del = h('button', { type: 'button', class: 'danger' }, 'Delete');
  del.addEventListener('click', () => confirmDelete(t));
  buttons.push(del);
  return buttons;
}

/** Asks before deleting, in a modal dialog (focus stays inside it; Escape cancels). */
function confirmDelete(t: TriggerSummary): void {
  const error = h('p', { class: 'field-error', role: 'alert' });
  const cancel = h('button', { type: 'button', autofocus: true }, 'Cancel');
  const confirm = h('button', { type: 'button', class: 'danger' }, 'Delete trigger');
  const pending = t.counts.pending;
  const dialog = h(
    'dialog',
    { 'aria-labelledby': 'delete-title', 'aria-describedby': 'delete-text', class: 'dialog' },
    h('h2', { id: 'delete-title', class: 'wrap' }, `Delete ${t.name}?`),
    h(
      'p',
      { id: 'delete-text' },
      `Its capture on ${t.table.schema}.${t.table.name} is dropped, and its events are archived: `,
      pending > 0
        ? h('strong', {}, `${formatCount(pending, t.counts_at_least.includes('pending'))} pending events will never be delivered.`)
        : 'it has no pending events.',
    ),
    error,
    h('div', { class: 'actions' }, cancel, confirm),
  );
  cancel.addEventListener('click', () => dialog.close());
  dialog.addEventListener('close', () => dialog.remove());
  confirm.addEventListener('click', () => {
    confirm.disabled = true;
    query('delete_event_trigger', { name: t.name }).then(
      () => {
        setFlash(`Deleted the event trigger ${t.name}.`);
        dialog.close();
        navigate('#/');
      },
      (e: unknown) => {
        confirm.disabled = false;
        error.textContent = (e as Error).message;
      },
    );
  });
  document.body.append(dialog);
  dialog.showModal();
}
