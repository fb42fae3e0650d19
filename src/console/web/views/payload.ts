/**
 * A JSON value (a payload, a response body) shown pretty-printed, copyable, and cut when long: a 1 MB
 * payload would take the browser seconds to lay out and bury the rest of the page, so the first
 * SHOWN_CHARACTERS are shown, with a button that shows all. Copy always copies the whole text.
 */
import { h } from '../dom.js';
import { formatBytes, parseExact, prettyJson } from '../json.js';

export const SHOWN_CHARACTERS = 20_000;

let blocks = 0;

/** A value as pretty JSON; a string that holds JSON (a response body) too, any other string as it is. */
export function jsonBlock(value: unknown, label: string): HTMLElement {
  if (typeof value !== 'string') return textBlock(prettyJson(value), label);
  let parsed: unknown;
  try {
    parsed = parseExact(value);
  } catch {
    return textBlock(value, label);
  }
  return textBlock(parsed !== null && typeof parsed === 'object' ? prettyJson(parsed) : value, label);
}

export function textBlock(text: string, label: string): HTMLElement {
  const id = `block-${++blocks}`;
  const cut = text.length > SHOWN_CHARACTERS;
  const pre = h('pre', { id, class: 'code', tabindex: 0, 'aria-label': label }, cut ? text.slice(0, SHOWN_CHARACTERS) : text);
  const status = h('span', { class: 'hint', role: 'status' });
  const size = new TextEncoder().encode(text).length;
  const copy = h('button', { type: 'button', class: 'small', 'aria-controls': id }, 'Copy');
  copy.addEventListener('click', () => {
    void copyText(text).then(
      () => (status.textContent = 'Copied.'),
      () => (status.textContent = 'Copying was refused by the browser: select the text instead.'),
    );
  });
  const tools = h('div', { class: 'block-tools' }, copy, status);
  if (cut) {
    const note = h(
      'span',
      { class: 'hint' },
      `Showing the first ${SHOWN_CHARACTERS.toLocaleString('en-US')} characters of ${formatBytes(size)}.`,
    );
    const all = h('button', { type: 'button', class: 'small', 'aria-controls': id }, `Show all (${formatBytes(size)})`);
    all.addEventListener('click', () => {
      pre.textContent = text;
      note.remove();
      all.remove();
      pre.focus();
    });
    tools.prepend(all, note);
  }
  return h('div', { class: 'block' }, tools, pre);
}

async function copyText(text: string): Promise<void> {
  if (navigator.clipboard) return navigator.clipboard.writeText(text);
  throw new Error('no clipboard');
}
