/**
 * The API's own validation errors shown next to the fields they are about. Each field (or fieldset) of a
 * form names the API path of its value (data-path="$.args.retry_conf.num_retries"); an error goes to the
 * field of its path, or of the nearest path above it. Errors the API reports at $.args (a table that does
 * not exist, an unset environment variable) name their field in their message: `placeFor` reads it.
 */
import { ApiFailure } from '../api.js';
import { h } from '../dom.js';

export interface Placement {
  path: string;
  message: string;
}

let fields = 0;

/** A labelled control with its error slot, for the API path `path`. */
export function field(options: { label: string; control: HTMLElement; path: string; hint?: string; className?: string }): HTMLElement {
  const id = options.control.id || `field-${++fields}`;
  options.control.id = id;
  const hint = options.hint ? h('p', { class: 'hint', id: `${id}-hint` }, options.hint) : null;
  if (hint) options.control.setAttribute('aria-describedby', `${id}-hint`);
  return h(
    'div',
    { class: `field ${options.className ?? ''}`.trim(), 'data-path': options.path },
    h('label', { for: id }, options.label),
    options.control,
    hint,
    h('p', { class: 'field-error', id: `${id}-error`, hidden: true }),
  );
}

/** A fieldset for the API path `path` (a group of controls: the table, an operation). */
export function fieldset(legend: string, path: string, ...children: Array<Node | null>): HTMLFieldSetElement {
  const set = h('fieldset', { 'data-path': path }, h('legend', {}, legend), ...children);
  set.append(h('p', { class: 'field-error', id: `fieldset-${++fields}-error`, hidden: true }));
  return set;
}

export function clearErrors(form: HTMLElement): void {
  for (const el of form.querySelectorAll<HTMLElement>('.field-error')) {
    el.hidden = true;
    el.textContent = '';
  }
  for (const el of form.querySelectorAll('[aria-invalid]')) {
    el.removeAttribute('aria-invalid');
    const described = (el.getAttribute('aria-describedby') ?? '').split(' ').filter((id) => !id.endsWith('-error'));
    if (described.length) el.setAttribute('aria-describedby', described.join(' '));
    else el.removeAttribute('aria-describedby');
  }
}

/**
 * Shows an error at the field of its path (or above it), focuses that field, and returns it; or returns
 * undefined when no field of the form matches (the caller shows it at the top of the form).
 */
export function showError(form: HTMLElement, placement: Placement): HTMLElement | undefined {
  const holders = [...form.querySelectorAll<HTMLElement>('[data-path]')].filter((el) => !el.closest('[hidden]'));
  let best: HTMLElement | undefined;
  for (const el of holders) {
    const path = el.dataset.path!;
    if (placement.path === path || placement.path.startsWith(`${path}.`) || placement.path.startsWith(`${path}[`)) {
      // The longest path wins; of equal ones the innermost (a field inside its fieldset), found last.
      if (!best || path.length >= best.dataset.path!.length) best = el;
    }
  }
  if (!best) return undefined;
  const slot = [...best.querySelectorAll<HTMLElement>(':scope > .field-error')].at(-1);
  if (!slot) return undefined;
  slot.textContent = placement.message;
  slot.hidden = false;
  const control = best.matches('fieldset')
    ? best.querySelector<HTMLElement>('input, select, textarea')
    : best.querySelector<HTMLElement>(':scope > input, :scope > select, :scope > textarea');
  if (control) {
    control.setAttribute('aria-invalid', 'true');
    control.setAttribute('aria-describedby', `${slot.id} ${control.getAttribute('aria-describedby') ?? ''}`.trim());
    control.focus();
  }
  return best;
}

/**
 * Where an error of create_event_trigger belongs. Malformed args come with the path of their key; what
 * the operation refuses while it runs comes at $.args, its message naming what it is about.
 */
export function placeFor(error: ApiFailure): Placement {
  const message = error.message;
  if (error.path !== '$.args') return { path: error.path, message };
  const column = /\((insert|update|delete)\.(columns|payload)\[\d+\]\)/.exec(message);
  if (column) return { path: `$.args.${column[1]}.${column[2]}`, message };
  const rules: Array<[RegExp, string]> = [
    [/^Event trigger with name .* already exists/, '$.args.name'],
    [/^table .* does not exist|is not a table|tables in schema|cannot replace table or schema/, '$.args.table'],
    // Before the webhook: the trigger's name in these messages may contain the word.
    [/for header "|in header "/, '$.args.headers'],
    [/webhook/, '$.args.webhook'],
    [/"insert", "update" and "delete"/, '$.args.operations'],
    [/trigger_on_replication/, '$.args.trigger_on_replication'],
    [/already has a trigger named/, '$.args.name'],
  ];
  for (const [pattern, path] of rules) if (pattern.test(message)) return { path, message };
  return { path: '$.args', message };
}
