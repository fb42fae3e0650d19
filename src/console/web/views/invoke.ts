/**
 * Invoke: a manual event with a JSON payload (invoke_event_trigger), delivered like any other with op
 * MANUAL. The payload is sent as typed, so its numbers keep every digit.
 */
import { ApiFailure, query, queryText } from '../api.js';
import { announce, clipped, h, replaceContent } from '../dom.js';
import { href, type Route, type Stop } from '../router.js';
import type { TriggerList } from '../types.js';
import { clearErrors, field, showError } from './formErrors.js';

export function showInvoke(main: HTMLElement, route: Route): Stop | undefined {
  const name = route.path[1]!;
  const payload = h('textarea', { id: 'invoke-payload', rows: 12, spellcheck: false, class: 'mono' }, '{\n  "id": 1\n}');
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Invoke');
  const result = h('div', { class: 'invoke-result', role: 'status' });
  const form = h(
    'form',
    { novalidate: true, 'aria-labelledby': 'invoke-title' },
    field({
      label: 'Payload (JSON)',
      control: payload,
      path: '$.args.payload',
      hint: 'Sent as event.data.new, with op MANUAL; any JSON value.',
    }),
    h('div', { class: 'actions' }, submit, h('a', { class: 'button', href: href(['triggers', name]) }, 'Back to the trigger')),
  );
  const notice = h('div', {});
  replaceContent(
    main,
    h(
      'nav',
      { 'aria-label': 'Breadcrumb', class: 'breadcrumb' },
      h('a', { href: '#/' }, 'Triggers'),
      ' › ',
      h('a', { href: href(['triggers', name]) }, clipped(name)),
      ' › Invoke',
    ),
    h('h1', { id: 'invoke-title', class: 'wrap' }, `Invoke ${name}`),
    notice,
    form,
    result,
  );
  // Say so at once when the trigger does not allow it, rather than after the user typed a payload.
  query<TriggerList>('get_event_triggers', { name }).then(
    (answer) => {
      if (answer.triggers[0]?.definition.enable_manual !== false) return;
      replaceContent(
        notice,
        h(
          'p',
          { class: 'notice warning' },
          'Manual invoke is not allowed for this trigger (enable_manual is false). ',
          h('a', { href: href(['triggers', name, 'edit']) }, 'Edit it'),
          ' to allow it.',
        ),
      );
    },
    () => undefined,
  );

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    clearErrors(form);
    const text = payload.value;
    try {
      JSON.parse(text);
    } catch (error) {
      showError(form, { path: '$.args.payload', message: `Not valid JSON: ${(error as Error).message}` });
      return;
    }
    submit.disabled = true;
    queryText<{ event_id: string }>('invoke_event_trigger', `{"name":${JSON.stringify(name)},"payload":${text}}`).then(
      (answer) => {
        submit.disabled = false;
        announce('Event created.');
        replaceContent(
          result,
          h(
            'p',
            { class: 'notice' },
            'Created event ',
            h('a', { href: href(['events', answer.event_id]), class: 'mono', 'data-testid': 'invoked-event' }, answer.event_id),
            ': open it to watch its delivery.',
          ),
        );
      },
      (error: unknown) => {
        submit.disabled = false;
        // A malformed payload is the field's; a refusal of the operation (manual invoke off) is the page's.
        const placed =
          error instanceof ApiFailure && error.path.startsWith('$.args.payload')
            ? showError(form, { path: error.path, message: error.message })
            : undefined;
        if (!placed) replaceContent(result, h('p', { class: 'field-error', role: 'alert' }, (error as Error).message));
      },
    );
  });
  return undefined;
}
