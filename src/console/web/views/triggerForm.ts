/**
 * Create or modify a trigger: a form over create_event_trigger (with replace: true to modify). The form
 * checks nothing itself: it sends what was typed, and the API's own errors appear next to the fields
 * they are about (formErrors.ts), so the form and the API can never disagree on what is valid.
 */
import { ApiFailure, query } from '../api.js';
import { announce, h, replaceContent, setFlash } from '../dom.js';
import { href, navigate, type Stop } from '../router.js';
import type { ColumnSelection, HeaderSpec, TriggerDefinition, TriggerList } from '../types.js';
import { clearErrors, field, fieldset, placeFor, showError } from './formErrors.js';

const OPS = ['insert', 'update', 'delete'] as const;

export function showTriggerForm(main: HTMLElement, editing: string | undefined): Stop | undefined {
  if (editing === undefined) {
    render(main, undefined);
    return undefined;
  }
  replaceContent(main, h('h1', { class: 'wrap' }, `Edit ${editing}`), h('p', { class: 'muted' }, 'Loading…'));
  query<TriggerList>('get_event_triggers', { name: editing }).then(
    (answer) => render(main, answer.triggers[0]!.definition),
    (error: unknown) => replaceContent(main, h('h1', {}, 'Cannot edit'), h('p', { role: 'alert' }, (error as Error).message)),
  );
  return undefined;
}

const text = (id: string, value = '', attrs: Record<string, string | boolean> = {}) =>
  h('input', { id, type: 'text', value, spellcheck: false, autocomplete: 'off', ...attrs });

const columnsText = (c: ColumnSelection | undefined) => (c === undefined ? '' : c === '*' ? '*' : c.join(', '));

/** "*" or a comma-separated list, as the API takes it; an empty list is sent as such (the API says why not). */
const parseColumns = (s: string): ColumnSelection =>
  s.trim() === '*'
    ? '*'
    : s
        .split(',')
        .map((c) => c.trim())
        .filter((c) => c !== '');

/** A whole number as a number; anything else as typed, for the API to name what is wrong with it. */
const numberOrText = (s: string): number | string => (/^-?\d+$/.test(s.trim()) ? Number(s.trim()) : s);

function render(main: HTMLElement, def: TriggerDefinition | undefined): void {
  const editing = def !== undefined;
  const name = text('trigger-name', def?.name ?? '', { disabled: editing, required: true });
  const schema = text('table-schema', def?.table.schema ?? 'public', { disabled: editing });
  const table = text('table-name', def?.table.name ?? '', { disabled: editing, required: true });
  const fromEnv = def?.webhook_from_env !== undefined;
  const kindUrl = h('input', { type: 'radio', name: 'webhook-kind', id: 'webhook-kind-url', value: 'url', checked: !fromEnv });
  const kindEnv = h('input', { type: 'radio', name: 'webhook-kind', id: 'webhook-kind-env', value: 'env', checked: fromEnv });
  const webhook = text('webhook', def?.webhook ?? '', { type: 'url', placeholder: 'http://127.0.0.1:3000/hook' });
  const webhookEnv = text('webhook-env', def?.webhook_from_env ?? '', { placeholder: 'ORDERS_WEBHOOK_URL' });
  const webhookField = field({
    label: 'Webhook URL',
    control: webhook,
    path: '$.args.webhook',
    hint: 'An http(s) URL, or a template such as {{EVENT_BASE}}/orders',
  });
  const envField = field({ label: 'Environment variable holding the URL', control: webhookEnv, path: '$.args.webhook_from_env' });
  const syncKind = () => {
    webhookField.hidden = kindEnv.checked;
    envField.hidden = !kindEnv.checked;
  };
  kindUrl.addEventListener('change', syncKind);
  kindEnv.addEventListener('change', syncKind);
  syncKind();

  const opControls = OPS.map((op) => {
    const spec = def?.[op];
    const on = h('input', { type: 'checkbox', id: `op-${op}`, checked: def === undefined ? op === 'insert' : spec !== undefined });
    const columns = text(`op-${op}-columns`, columnsText(spec?.columns) || '*');
    const payload = text(`op-${op}-payload`, spec?.payload === undefined || spec.payload === '*' ? '' : columnsText(spec.payload), {
      placeholder: 'all columns',
    });
    const details = h(
      'div',
      { class: 'op-details' },
      field({
        label: `${op.toUpperCase()}: columns listened to`,
        control: columns,
        path: `$.args.${op}.columns`,
        hint: op === 'update' ? '* or a list (a, b): fires when one of them changes' : '* (every row)',
      }),
      field({
        label: `${op.toUpperCase()}: columns to send`,
        control: payload,
        path: `$.args.${op}.payload`,
        hint: 'empty for all columns',
      }),
    );
    const sync = () => (details.hidden = !on.checked);
    on.addEventListener('change', sync);
    sync();
    return {
      op,
      on,
      columns,
      payload,
      element: h(
        'div',
        { class: 'op-block', 'data-path': `$.args.${op}` },
        h('label', { class: 'check' }, on, ` On ${op.toUpperCase()}`),
        details,
        h('p', { class: 'field-error', id: `op-${op}-error`, hidden: true }),
      ),
    };
  });

  const headerRows = h('div', { class: 'header-rows' });
  const addHeader = (header?: HeaderSpec) => {
    const i = headerRows.children.length;
    const fromEnvHeader = header !== undefined && 'value_from_env' in header;
    const hName = text(`header-${i}-name`, header?.name ?? '', { placeholder: 'X-Api-Key' });
    const kind = h(
      'select',
      { id: `header-${i}-kind` },
      h('option', { value: 'value', selected: !fromEnvHeader }, 'value'),
      h('option', { value: 'env', selected: fromEnvHeader }, 'from environment variable'),
    );
    const value = text(`header-${i}-value`, header === undefined ? '' : 'value' in header ? header.value : header.value_from_env);
    const remove = h('button', { type: 'button', class: 'small', 'aria-label': `Remove header ${i + 1}` }, 'Remove');
    const valueField = field({ label: 'Value', control: value, path: `$.args.headers[${i}].value` });
    const syncKind = () => (valueField.dataset.path = `$.args.headers[${i}].${kind.value === 'env' ? 'value_from_env' : 'value'}`);
    kind.addEventListener('change', syncKind);
    syncKind();
    const row = h(
      'div',
      { class: 'header-row', 'data-path': `$.args.headers[${i}]` },
      field({ label: 'Name', control: hName, path: `$.args.headers[${i}].name` }),
      field({ label: 'Kind', control: kind, path: `$.args.headers[${i}].kind` }),
      valueField,
      remove,
      h('p', { class: 'field-error', id: `header-${i}-error`, hidden: true }),
    );
    remove.addEventListener('click', () => {
      row.remove();
      renumber();
    });
    headerRows.append(row);
  };
  // Paths follow the rows' order: after a removal, the rows below move up one index.
  const renumber = () => {
    [...headerRows.children].forEach((row, i) => {
      for (const el of row.querySelectorAll<HTMLElement>('[data-path]'))
        el.dataset.path = el.dataset.path!.replace(/headers\[\d+\]/, `headers[${i}]`);
      (row as HTMLElement).dataset.path = `$.args.headers[${i}]`;
    });
  };
  for (const header of def?.headers ?? []) addHeader(header);
  const addButton = h('button', { type: 'button', class: 'small' }, 'Add header');
  addButton.addEventListener('click', () => {
    addHeader();
    headerRows.querySelector<HTMLInputElement>('.header-row:last-child input')?.focus();
  });

  const retries = text('retry-num', String(def?.retry_conf.num_retries ?? 0), { inputmode: 'numeric' });
  const interval = text('retry-interval', String(def?.retry_conf.interval_sec ?? 10), { inputmode: 'numeric' });
  const timeout = text('retry-timeout', String(def?.retry_conf.timeout_sec ?? 60), { inputmode: 'numeric' });
  const manual = h('input', { type: 'checkbox', id: 'enable-manual', checked: def?.enable_manual !== false });
  const replication = h('input', { type: 'checkbox', id: 'on-replication', checked: def?.trigger_on_replication === true });

  const summary = h('div', { class: 'form-summary', role: 'alert', hidden: true });
  const submit = h('button', { type: 'submit', class: 'primary' }, editing ? 'Save changes' : 'Create trigger');
  const cancel = h('a', { class: 'button', href: editing ? href(['triggers', def.name]) : '#/' }, 'Cancel');
  const form = h(
    'form',
    { class: 'trigger-form', novalidate: true, 'aria-labelledby': 'form-title' },
    summary,
    field({
      label: 'Name',
      control: name,
      path: '$.args.name',
      hint: editing
        ? 'A trigger keeps its name: create another to rename it.'
        : 'Starts with a letter; letters, digits, _ and -; at most 42 characters.',
    }),
    fieldset(
      'Table',
      '$.args.table',
      h(
        'div',
        { class: 'row' },
        field({ label: 'Schema', control: schema, path: '$.args.table.schema' }),
        field({ label: 'Table', control: table, path: '$.args.table.name' }),
      ),
      editing ? h('p', { class: 'hint' }, 'A trigger stays on its table.') : null,
    ),
    fieldset(
      'Webhook',
      '$.args.webhook',
      h(
        'div',
        { class: 'row radios' },
        h('label', { class: 'check' }, kindUrl, ' URL'),
        h('label', { class: 'check' }, kindEnv, ' From an environment variable'),
      ),
      webhookField,
      envField,
    ),
    fieldset(
      'Operations',
      '$.args.operations',
      ...opControls.map((c) => c.element),
      h('label', { class: 'check' }, manual, ' Allow manual invoke (from this console or invoke_event_trigger)'),
    ),
    fieldset('Headers sent with each call', '$.args.headers', headerRows, addButton),
    fieldset(
      'Retries',
      '$.args.retry_conf',
      h(
        'div',
        { class: 'row' },
        field({ label: 'Retries', control: retries, path: '$.args.retry_conf.num_retries' }),
        field({ label: 'Seconds between', control: interval, path: '$.args.retry_conf.interval_sec' }),
        field({ label: 'Timeout (s)', control: timeout, path: '$.args.retry_conf.timeout_sec' }),
      ),
    ),
    h(
      'div',
      { 'data-path': '$.args.trigger_on_replication' },
      h('label', { class: 'check' }, replication, ' Also fire for changes applied by logical replication'),
      h('p', { class: 'field-error', id: 'replication-error', hidden: true }),
    ),
    h('div', { class: 'actions' }, submit, cancel),
  );

  const argsFromForm = () => {
    const args: Record<string, unknown> = {
      name: name.value.trim(),
      table: { schema: schema.value.trim(), name: table.value.trim() },
      headers: [...headerRows.children].map((row) => {
        const [n, k, v] = [...row.querySelectorAll<HTMLInputElement | HTMLSelectElement>('input, select')];
        return k!.value === 'env' ? { name: n!.value.trim(), value_from_env: v!.value.trim() } : { name: n!.value.trim(), value: v!.value };
      }),
      retry_conf: Object.fromEntries(
        (
          [
            ['num_retries', retries],
            ['interval_sec', interval],
            ['timeout_sec', timeout],
          ] as const
        )
          .filter(([, input]) => input.value.trim() !== '')
          .map(([key, input]) => [key, numberOrText(input.value)]),
      ),
      enable_manual: manual.checked,
      trigger_on_replication: replication.checked,
      replace: editing,
    };
    if (kindEnv.checked) args.webhook_from_env = webhookEnv.value.trim();
    else args.webhook = webhook.value.trim();
    for (const c of opControls) {
      if (!c.on.checked) continue;
      const payload = c.payload.value.trim();
      args[c.op] = { columns: parseColumns(c.columns.value), ...(payload ? { payload: parseColumns(payload) } : {}) };
    }
    return args;
  };

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    clearErrors(form);
    summary.hidden = true;
    submit.disabled = true;
    const args = argsFromForm();
    query('create_event_trigger', args).then(
      () => {
        setFlash(editing ? `Saved ${String(args.name)}.` : `Created ${String(args.name)}: it captures from now on.`);
        announce(editing ? 'Saved.' : 'Created.');
        navigate(href(['triggers', String(args.name)]));
      },
      (error: unknown) => {
        submit.disabled = false;
        const failure = error instanceof ApiFailure ? error : undefined;
        const message = failure ? failure.message : (error as Error).message;
        const placed = failure ? showError(form, placeFor(failure)) : undefined;
        summary.hidden = false;
        replaceContent(
          summary,
          h('p', {}, h('strong', {}, editing ? 'Not saved: ' : 'Not created: '), message, placed ? ' (at the field marked below)' : ''),
        );
        if (!placed) summary.focus();
      },
    );
  });
  summary.tabIndex = -1;
  replaceContent(
    main,
    h(
      'nav',
      { 'aria-label': 'Breadcrumb', class: 'breadcrumb' },
      h('a', { href: '#/' }, 'Triggers'),
      editing ? ' › ' : null,
      editing ? h('a', { href: href(['triggers', def.name]) }, def.name) : null,
    ),
    h('h1', { id: 'form-title', class: 'wrap', tabindex: -1 }, editing ? `Edit ${def.name}` : 'New event trigger'),
    form,
  );
  // Loaded after the route was shown: the heading the router focused was the loading one.
  if (editing) main.querySelector('h1')?.focus();
}
