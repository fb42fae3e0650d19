/**
 * Building the page: elements from a tag, attributes and children. Text is always set as text, never
 * parsed as HTML, so nothing the API answers (a trigger name, a payload, a response body) can become
 * markup or script.
 */

type Child = Node | string | number | null | undefined | false;
type Attributes = Record<string, string | number | boolean | null | undefined | ((event: Event) => void)>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attributes = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  setAttributes(el, attrs);
  append(el, children);
  return el;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

export function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Attributes = {}, ...children: Child[]): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG_NS, tag);
  setAttributes(el, attrs);
  append(el, children);
  return el;
}

function setAttributes(el: Element, attrs: Attributes): void {
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (typeof value === 'function') el.addEventListener(name.replace(/^on/, ''), value);
    else if (value === true) el.setAttribute(name, '');
    else el.setAttribute(name, String(value));
  }
}

function append(el: Element, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
}

/** Replaces an element's children, keeping focus on the control that had it (matched by its data-key). */
export function replaceContent(el: Element, ...children: Child[]): void {
  const focused = document.activeElement;
  const key = focused instanceof HTMLElement && el.contains(focused) ? focused.dataset.key : undefined;
  el.replaceChildren();
  append(el, children);
  if (key !== undefined) el.querySelector<HTMLElement>(`[data-key="${CSS.escape(key)}"]`)?.focus();
}

/** Says something to screen readers (the page's polite live region). */
export function announce(message: string): void {
  const region = document.getElementById('announcer');
  if (!region) return;
  region.textContent = '';
  // A change of text is what screen readers announce: set it on the next frame.
  requestAnimationFrame(() => (region.textContent = message));
}

const pad = (n: number) => String(n).padStart(2, '0');

/** A timestamp in the browser's time zone: 2026-12-01 10:15:03. */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** How far a timestamp is from now: "in 25 s", "3 min ago". */
export function relativeTime(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '';
  const ms = new Date(iso).getTime() - now;
  const abs = Math.abs(ms);
  const amount =
    abs < 60_000 ? `${Math.round(abs / 1000)} s` : abs < 3_600_000 ? `${Math.round(abs / 60_000)} min` : `${Math.round(abs / 3_600_000)} h`;
  return ms >= 0 ? `in ${amount}` : `${amount} ago`;
}

/** A <time> element: local time shown, UTC in its tooltip and datetime attribute. */
export function timeElement(iso: string | null | undefined, withRelative = false): HTMLElement {
  if (!iso) return h('span', { class: 'muted' }, '—');
  const relative = withRelative ? ` (${relativeTime(iso)})` : '';
  return h('time', { datetime: iso, title: `${iso} (UTC)` }, `${formatTime(iso)}${relative}`);
}

/** A count as the console shows it: 1,234, or 10,000+ when the API stopped counting there. */
export function formatCount(n: number, atLeast = false): string {
  return `${n.toLocaleString('en-US')}${atLeast ? '+' : ''}`;
}

/** Text that may be long (a trigger name, a URL): cut with an ellipsis by CSS, whole in its tooltip. */
export function clipped(text: string, className = ''): HTMLElement {
  return h('span', { class: `clip ${className}`.trim(), title: text }, text);
}

/** A status as a labelled badge: the word is always there, the colour only repeats it. */
export function statusBadge(status: string): HTMLElement {
  const label = status === 'error' ? 'failed' : status;
  return h('span', { class: `badge badge-${status}` }, label);
}

/** Where the route's main content goes. */
export function mainElement(): HTMLElement {
  return document.getElementById('main')!;
}

const FLASH_KEY = 'pg-event-triggers:flash';

/** A message for the next view to show once ("Created orders"), kept across the navigation. */
export function setFlash(message: string): void {
  sessionStorage.setItem(FLASH_KEY, message);
}

/** The message left by setFlash, as a notice element, or null; shown once. */
export function takeFlash(): HTMLElement | null {
  const message = sessionStorage.getItem(FLASH_KEY);
  sessionStorage.removeItem(FLASH_KEY);
  return message ? h('p', { class: 'notice', role: 'status' }, message) : null;
}
