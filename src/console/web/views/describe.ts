/**
 * A trigger's definition in words, as the triggers list and a trigger's page show it: its operations,
 * its webhook as defined (a template unresolved, an environment variable by its name: the console never
 * sees their values), its retries, and its circuit when the daemon has flow control.
 */
import { clipped, h, relativeTime, timeElement } from '../dom.js';
import type { FlowControlState, OperationSpec, TriggerDefinition } from '../types.js';

const OPS = ['insert', 'update', 'delete'] as const;

export function operationNames(def: TriggerDefinition): string[] {
  const names: string[] = OPS.filter((op) => def[op] !== undefined).map((op) => op.toUpperCase());
  if (def.enable_manual !== false) names.push('MANUAL');
  return names;
}

export function operationsElement(def: TriggerDefinition): HTMLElement {
  const names = operationNames(def);
  if (names.length === 0) return h('span', { class: 'muted' }, 'none');
  return h('span', { class: 'ops' }, ...names.map((n) => h('span', { class: `op op-${n.toLowerCase()}` }, n)));
}

/** The webhook as defined: a URL or template, or "from env NAME". */
export function webhookText(def: TriggerDefinition): string {
  if (def.webhook_from_env !== undefined) return `from environment variable ${def.webhook_from_env}`;
  return def.webhook ?? '';
}

export function webhookElement(def: TriggerDefinition): HTMLElement {
  if (def.webhook_from_env !== undefined) return h('span', {}, 'from env ', h('code', {}, clipped(def.webhook_from_env)));
  return h('code', { class: 'clip-block' }, clipped(def.webhook ?? ''));
}

export function retryText(def: TriggerDefinition): string {
  const r = def.retry_conf;
  const retries =
    r.num_retries === 0 ? 'no retries' : `${r.num_retries} ${r.num_retries === 1 ? 'retry' : 'retries'} every ${r.interval_sec} s`;
  return `${retries}, timeout ${r.timeout_sec} s`;
}

/** The retries in a few characters, for a table cell: "3 × 3600 s". */
export function retryShort(def: TriggerDefinition): string {
  const r = def.retry_conf;
  return r.num_retries === 0 ? 'none' : `${r.num_retries} × ${r.interval_sec} s`;
}

function columnsText(spec: OperationSpec): string {
  const columns = spec.columns === '*' ? 'any column' : spec.columns.join(', ');
  const payload = spec.payload === undefined || spec.payload === '*' ? 'all columns' : spec.payload.join(', ');
  return `on ${columns}; sends ${payload}`;
}

/** The whole definition as a description list. */
export function definitionList(def: TriggerDefinition, table: { schema: string; name: string }, tableExists: boolean): HTMLElement {
  const rows: Array<[string, Node | string]> = [
    [
      'Table',
      h(
        'span',
        {},
        clipped(`${table.schema}.${table.name}`),
        tableExists ? null : h('strong', { class: 'warning' }, ' (dropped: nothing is captured)'),
      ),
    ],
    ['Webhook', webhookElement(def)],
  ];
  for (const op of OPS) {
    const spec = def[op];
    if (spec) rows.push([op.toUpperCase(), clipped(columnsText(spec))]);
  }
  rows.push(['Manual invoke', def.enable_manual === false ? 'not allowed' : 'allowed']);
  rows.push(['Retries', retryText(def)]);
  if (def.headers.length) {
    rows.push([
      'Headers',
      h(
        'ul',
        { class: 'plain' },
        ...def.headers.map((header) =>
          h(
            'li',
            {},
            h('code', {}, clipped(header.name)),
            ': ',
            'value_from_env' in header
              ? h('span', {}, 'from env ', h('code', {}, clipped(header.value_from_env)))
              : h('code', {}, clipped(header.value)),
          ),
        ),
      ),
    ]);
  }
  if (def.trigger_on_replication) rows.push(['Replication', 'also fires for changes applied by logical replication']);
  return h('dl', { class: 'definition' }, ...rows.flatMap(([term, value]) => [h('dt', {}, term), h('dd', {}, value)]));
}

type Circuit = FlowControlState['triggers'][number];

/** The circuit breaker of a trigger (flow control): closed, open until a time, or half open. */
export function circuitElement(state: Circuit | undefined): HTMLElement {
  if (!state) return h('span', { class: 'muted' }, '—');
  const { circuit } = state;
  const word = circuit.state === 'half_open' ? 'half open' : circuit.state;
  const detail =
    circuit.state === 'open' && circuit.open_until
      ? h('span', { class: 'hint' }, ' until ', timeElement(circuit.open_until), ` (${relativeTime(circuit.open_until)})`)
      : null;
  const failures =
    circuit.consecutive_failures > 0 ? h('span', { class: 'hint' }, `, ${circuit.consecutive_failures} failures in a row`) : null;
  const reason = circuit.state !== 'closed' && circuit.reason ? h('span', { class: 'hint' }, `: ${circuit.reason}`) : null;
  return h(
    'span',
    { class: 'circuit' },
    h('span', { class: `badge badge-circuit-${circuit.state}` }, word),
    detail,
    reason,
    failures,
    h('span', { class: 'hint' }, `, ${state.in_flight} in flight`),
  );
}
