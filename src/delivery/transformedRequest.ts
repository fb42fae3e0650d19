/**
 * One attempt's request for a trigger with a request_transform: the transform applied to the request
 * the webhook client would otherwise send, and the invocation log of what is sent instead. A transform
 * that fails on this event (a template meets a value it cannot use) gives the message for a failed
 * attempt, never an exception.
 */
import type { HeaderSpec } from '../catalog/definition.js';
import type { ResolvedTrigger, TriggerTransform } from '../catalog/triggerRegistry.js';
import { editHeaders } from '../transform/httpParts.js';
import { applyRequestTransform, TransformRunError, type TransformedRequest } from '../transform/requestTransform.js';

export type PreparedRequest =
  | {
      ok: true;
      origin: string;
      /** Path and query. */
      path: string;
      method: string;
      headers: Record<string, string>;
      body: string | undefined;
      /** The invocation log's request (built only when asked: logs may be off). */
      requestLog(): string;
    }
  | { ok: false; message: string; requestLog(): string };

export interface TransformInput {
  trigger: ResolvedTrigger;
  transform: TriggerTransform;
  /** The trigger's webhook, resolved. */
  url: string;
  /** The JSON body the trigger sends without a transform (buildBody). */
  body: string;
  /** Headers of this attempt added after the transform, given the body it made (a signature signs that body). */
  addHeaders?: (body: string) => Array<[string, string]>;
}

export function prepareTransformedRequest({ trigger, transform, url: webhook, body, addHeaders }: TransformInput): PreparedRequest {
  let out: TransformedRequest;
  try {
    out = applyRequestTransform(transform.compiled, {
      url: webhook,
      method: 'POST',
      headers: Object.entries(trigger.headers),
      body,
    });
  } catch (error) {
    const requestLog = () => `{"payload":${body},"headers":${trigger.loggedHeadersJson},"version":"2"}`;
    if (error instanceof TransformRunError) return { ok: false, message: `request transform failed: ${error.message}`, requestLog };
    throw error;
  }
  const url = new URL(out.url);
  const headers: Record<string, string> = {};
  for (const [name, value] of out.headers) headers[name.toLowerCase()] = value;
  const added = addHeaders?.(out.body ?? '') ?? [];
  for (const [name, value] of added) headers[name] = value;
  return {
    ok: true,
    origin: url.origin,
    path: `${url.pathname}${url.search}`,
    method: out.method,
    headers,
    body: out.body,
    requestLog: () => requestLogOf(out, transform.loggedHeaders, added),
  };
}

/**
 * The invocation log's request, as sent: the transformed body (JSON, or a string for a form body, null
 * when removed), the headers as defined with the transform's edits (added ones with the value sent), and
 * the method. As for every attempt, no URL: it may hold what the environment gave the webhook.
 */
function requestLogOf(out: TransformedRequest, loggedHeaders: HeaderSpec[], added: Array<[string, string]>): string {
  const payload = out.body === undefined ? 'null' : out.bodyIsJson ? withoutNul(out.body) : JSON.stringify(out.body);
  const edited = editHeaders(
    loggedHeaders,
    out.headerEdits,
    (h) => h.name,
    (name, value): HeaderSpec => ({ name, value }),
  );
  const addedNames = new Set(added.map(([name]) => name));
  const headers = [...edited.filter((h) => !addedNames.has(h.name.toLowerCase())), ...added.map(([name, value]) => ({ name, value }))];
  return `{"payload":${payload},"headers":${JSON.stringify(headers)},"method":${JSON.stringify(out.method)},"version":"2"}`;
}

/**
 * JSON text with each escaped NUL (\u0000, not an escaped backslash before "u0000") as U+FFFD: jsonb
 * cannot store NUL, and a body template may write one ("\u0000"). The webhook gets the body as made.
 */
const withoutNul = (json: string): string => json.replace(/(?<!\\)((?:\\\\)*)\\u0000/g, '$1\\uFFFD');
