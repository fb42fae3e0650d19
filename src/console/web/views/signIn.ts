/** Sign-in: the admin secret, kept in this tab's session storage once the daemon accepts it. */
import { ApiFailure, forgetSecret, query, storeSecret } from '../api.js';
import { h, replaceContent } from '../dom.js';

export function showSignIn(main: HTMLElement, refused: boolean, signedIn: () => void): void {
  const input = h('input', {
    id: 'admin-secret',
    name: 'admin-secret',
    type: 'password',
    autocomplete: 'current-password',
    required: true,
    'aria-describedby': 'admin-secret-help',
  });
  const error = h('p', { id: 'admin-secret-error', class: 'field-error', role: 'alert' });
  const button = h('button', { type: 'submit', class: 'primary' }, 'Sign in');
  const showError = (message: string) => {
    error.textContent = message;
    input.setAttribute('aria-invalid', 'true');
    input.setAttribute('aria-describedby', 'admin-secret-error admin-secret-help');
    input.focus();
    input.select();
  };
  if (refused) error.textContent = 'The daemon no longer accepts the admin secret of this tab: sign in again.';

  const form = h(
    'form',
    { class: 'sign-in', novalidate: true, 'aria-labelledby': 'sign-in-title' },
    h('h1', { id: 'sign-in-title' }, 'Sign in'),
    h('p', {}, 'This daemon has an admin secret (ADMIN_SECRET). Type it to use the console.'),
    h('div', { class: 'field' }, h('label', { for: 'admin-secret' }, 'Admin secret'), input, error),
    h(
      'p',
      { id: 'admin-secret-help', class: 'hint' },
      'Kept in this browser tab only (session storage) and sent to this daemon as X-Hasura-Admin-Secret.',
    ),
    button,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void (async () => {
      if (input.value === '') return showError('Type the admin secret.');
      storeSecret(input.value);
      button.disabled = true;
      try {
        await query('get_delivery_stats', { minutes: 1 });
        signedIn();
      } catch (e) {
        forgetSecret();
        showError(
          e instanceof ApiFailure && e.status === 401
            ? 'That admin secret is wrong.'
            : `The daemon could not check it: ${(e as Error).message}`,
        );
      } finally {
        button.disabled = false;
      }
    })();
  });
  replaceContent(main, form);
  document.title = 'Sign in · pg-event-triggers';
  input.focus();
}
