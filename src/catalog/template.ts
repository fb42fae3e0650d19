/**
 * Hasura's environment templates (Data.URL.Template), used in a trigger's `webhook` and in its headers'
 * `value`: "{{EVENT_BASE}}/orders". The text between "{{" and the next "}}" names an environment variable,
 * taken exactly as written (Hasura trims nothing, so "{{ A }}" names " A "); the rest is literal. The
 * definition keeps the template; each daemon resolves it against its own environment.
 */

export type TemplatePart = { text: string } | { variable: string };

/** Why a string is not a template. */
export class TemplateSyntaxError extends Error {
  override name = 'TemplateSyntaxError';
}

/** Whether a string holds a template variable (or the start of one), as opposed to plain text. */
export const isTemplate = (s: string): boolean => s.includes('{{');

/**
 * Splits a template into text and variables. An unclosed "{{" and an empty "{{}}" are refused here:
 * Hasura's parser does not terminate on the first, and the second names no variable.
 */
export function parseTemplate(template: string): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let at = 0;
  while (at < template.length) {
    const open = template.indexOf('{{', at);
    if (open === -1) {
      parts.push({ text: template.slice(at) });
      break;
    }
    if (open > at) parts.push({ text: template.slice(at, open) });
    const close = template.indexOf('}}', open + 2);
    if (close === -1) throw new TemplateSyntaxError('"{{" without a closing "}}" (write {{NAME}} for the environment variable NAME)');
    const variable = template.slice(open + 2, close);
    if (variable === '') throw new TemplateSyntaxError('"{{}}" names no environment variable');
    parts.push({ variable });
    at = close + 2;
  }
  return parts;
}

export type Rendered = { value: string } | { missing: string[] };

/**
 * The template with each variable replaced by its value; or every variable that is not set. As in Hasura
 * (renderTemplate), a variable set to the empty string is set.
 */
export function renderTemplate(template: string, env: NodeJS.ProcessEnv): Rendered {
  const missing: string[] = [];
  let value = '';
  for (const part of parseTemplate(template)) {
    if ('text' in part) {
      value += part.text;
      continue;
    }
    const found = env[part.variable];
    if (found === undefined) {
      if (!missing.includes(part.variable)) missing.push(part.variable);
    } else {
      value += found;
    }
  }
  return missing.length ? { missing } : { value };
}
