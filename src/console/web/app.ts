/**
 * The console's entry point: the header, sign-in when the daemon asks for the admin secret, and the
 * router that shows one view at a time. A view returns what stops it (its polling) when the user leaves.
 */
import { ApiFailure, forgetSecret, onConnection, query, storedSecret, type Connection } from './api.js';
import { h, mainElement, replaceContent } from './dom.js';
import { parseRoute, type Route, type Stop } from './router.js';
import { showEvent } from './views/event.js';
import { showInvoke } from './views/invoke.js';
import { showSignIn } from './views/signIn.js';
import { showTrigger } from './views/trigger.js';
import { showTriggerForm } from './views/triggerForm.js';
import { showTriggers } from './views/triggers.js';

type View = (main: HTMLElement, route: Route) => Stop | undefined;

let stopView: Stop | undefined;
let signingIn = false;

function viewFor(route: Route): View {
  const [first, second, third] = route.path;
  if (first === undefined || (first === 'triggers' && second === undefined)) return showTriggers;
  if (first === 'new' && second === undefined) return (main) => showTriggerForm(main, undefined);
  if (first === 'triggers' && second !== undefined) {
    if (third === undefined) return showTrigger;
    if (third === 'edit') return (main) => showTriggerForm(main, second);
    if (third === 'invoke') return showInvoke;
  }
  if (first === 'events' && second !== undefined && third === undefined) return showEvent;
  return showNotFound;
}

function showNotFound(main: HTMLElement): undefined {
  replaceContent(
    main,
    h('h1', {}, 'Not found'),
    h('p', {}, 'Nothing lives at this address. ', h('a', { href: '#/' }, 'See all triggers'), '.'),
  );
  return undefined;
}

function render(): void {
  stopView?.();
  stopView = undefined;
  if (signingIn) return;
  const route = parseRoute();
  const main = mainElement();
  main.replaceChildren();
  for (const link of document.querySelectorAll<HTMLAnchorElement>('[data-nav]')) {
    const current = (link.dataset.nav === 'new' && route.path[0] === 'new') || (link.dataset.nav === 'triggers' && route.path[0] !== 'new');
    if (current) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  stopView = viewFor(route)(main, route);
  // A new view: move focus to its heading, as a page load would, so keyboard and screen reader users
  // start from the top of what changed.
  const heading = main.querySelector('h1');
  if (heading) {
    heading.tabIndex = -1;
    heading.focus({ preventScroll: true });
    document.title = `${heading.textContent ?? ''} · pg-event-triggers`;
  }
}

/** Asks for the admin secret, then shows the route the user was on. */
function requireSignIn(refused: boolean): void {
  if (signingIn) return;
  signingIn = true;
  stopView?.();
  stopView = undefined;
  showSignIn(mainElement(), refused, () => {
    signingIn = false;
    updateSignOut();
    render();
  });
}

function updateSignOut(): void {
  document.getElementById('sign-out')!.hidden = storedSecret() === null;
}

function showConnection(state: Connection): void {
  const el = document.getElementById('connection')!;
  el.textContent = state === 'unreachable' ? 'Connection lost: retrying' : '';
  el.classList.toggle('connection-lost', state === 'unreachable');
  if (state === 'signed-out') requireSignIn(storedSecret() !== null);
}

async function start(): Promise<void> {
  onConnection(showConnection);
  document.getElementById('sign-out')!.addEventListener('click', () => {
    forgetSecret();
    updateSignOut();
    requireSignIn(false);
  });
  // The fragment is the router's: the skip link moves focus instead of changing it.
  document.getElementById('skip-link')!.addEventListener('click', (event) => {
    event.preventDefault();
    mainElement().focus();
  });
  window.addEventListener('hashchange', render);
  updateSignOut();
  try {
    // Any operation tells whether a secret is needed: get_delivery_stats is one of the cheapest.
    await query('get_delivery_stats', { minutes: 1 });
  } catch (error) {
    if (error instanceof ApiFailure && error.status === 401) return requireSignIn(storedSecret() !== null);
  }
  render();
}

void start();
