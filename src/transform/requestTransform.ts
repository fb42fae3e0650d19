/**
 * A request transform compiled and applied, as Hasura applies one (Hasura.RQL.DDL.Webhook.Transform):
 * each part it names (method, url, query_params, request_headers, body, content_type) replaces that part
 * of the request; the templates see $body (the request's JSON body), $base_url (the webhook), $query_params
 * (the webhook's query, as [key, value] pairs) and $session_variables. Pure: compiled once per trigger,
 * applied to each attempt.
 *
 * As in Hasura, the query string is query_params' when given, else the webhook's own: a query written in
 * the url template is replaced by it.
 */
import { jsonPath } from '../api/errors.js';
import { isHttpUrl } from '../catalog/definition.js';
import { compileTemplate, encodeJson, KritiError, parseExact, type CompiledTemplate, type KValue } from './kriti/index.js';
import { editHeaders, encodeForm, parseQuery, renderQuery, splitUrl, type HeaderEdits, type QueryPair } from './httpParts.js';
import type { RequestTransformDefinition } from './schema.js';

type Path = Array<string | number>;

/** A template, and where it is in the transform (for errors). */
interface Located {
  template: CompiledTemplate;
  path: Path;
}

export interface CompiledRequestTransform {
  readonly definition: RequestTransformDefinition;
  readonly method: string | undefined;
  readonly url: Located | undefined;
  readonly query: { pairs: Array<{ key: Located; value: Located | null }> } | { template: Located } | undefined;
  readonly headers: { add: Array<{ name: string; value: Located }>; remove: ReadonlySet<string> } | undefined;
  readonly body: { json: Located } | { form: Array<{ name: string; value: Located }> } | 'remove' | undefined;
  readonly contentType: string | undefined;
}

/** A template that does not compile, and where it is (relative to request_transform). */
export class TransformCompileError extends Error {
  override name = 'TransformCompileError';
  constructor(
    readonly path: Path,
    readonly kriti: KritiError,
  ) {
    super(`${jsonPath('request_transform', path)}: ${kriti.message}`);
  }
}

export function compileRequestTransform(def: RequestTransformDefinition): CompiledRequestTransform {
  const compile = (source: string, mode: 'template' | 'string', path: Path): Located => {
    try {
      return { template: compileTemplate(source, mode), path };
    } catch (error) {
      if (error instanceof KritiError) throw new TransformCompileError(path, error);
      throw error;
    }
  };
  const q = def.query_params;
  const query =
    q === undefined
      ? undefined
      : typeof q === 'string'
        ? { template: compile(q, 'string', ['query_params']) }
        : {
            pairs: Object.entries(q).map(([key, value]) => ({
              key: compile(key, 'string', ['query_params', key]),
              value: value === null ? null : compile(value, 'string', ['query_params', key]),
            })),
          };
  const h = def.request_headers;
  const headers = h && {
    add: Object.entries(h.add_headers).map(([name, value]) => ({
      name,
      value: compile(value, 'string', ['request_headers', 'add_headers', name]),
    })),
    remove: new Set(h.remove_headers.map((name) => name.toLowerCase())),
  };
  const b = def.body;
  const body =
    b === undefined
      ? undefined
      : typeof b === 'string'
        ? { json: compile(b, 'template', ['body']) }
        : b.action === 'remove'
          ? ('remove' as const)
          : b.action === 'transform'
            ? { json: compile(b.template, 'template', ['body', 'template']) }
            : {
                form: Object.entries(b.form_template).map(([name, value]) => ({
                  name,
                  value: compile(value, 'string', ['body', 'form_template', name]),
                })),
              };
  return {
    definition: def,
    method: def.method,
    url: def.url === undefined ? undefined : compile(def.url, 'string', ['url']),
    query,
    headers,
    body,
    contentType: def.content_type,
  };
}

/** The request before the transform. */
export interface OriginalRequest {
  /** The webhook as resolved: $base_url, and the URL called when the transform sets none. */
  url: string;
  method: string;
  headers: ReadonlyArray<readonly [string, string]>;
  /** JSON text: $body, and what is sent when the transform leaves the body alone. */
  body: string;
  /**
   * $session_variables and getSessionVariable's (keys lower-cased). Undefined: those of the event in the
   * body (event.session_variables), as Hasura reads them for event triggers.
   */
  sessionVariables?: Readonly<Record<string, string>> | null;
}

export interface TransformedRequest {
  method: string;
  /** Absolute, with the query string. */
  url: string;
  headers: Array<readonly [string, string]>;
  /** What was done to the headers, for whoever keeps another view of them (the invocation log). */
  headerEdits: HeaderEdits;
  /** The body to send; undefined when the transform removes it. */
  body: string | undefined;
  /** Whether body is JSON text (the original body, or the value of a body template). */
  bodyIsJson: boolean;
}

/** A transform that failed on a request: which part, and why. */
export class TransformRunError extends Error {
  override name = 'TransformRunError';
  constructor(
    readonly path: Path,
    readonly detail: string,
    readonly kriti?: KritiError,
  ) {
    super(`${jsonPath('request_transform', path)}: ${detail}`);
  }
}

export function applyRequestTransform(t: CompiledRequestTransform, request: OriginalRequest): TransformedRequest {
  try {
    return apply(t, request);
  } catch (error) {
    // Values nested deeper than the stack allows (in the body, or made by a template): the request's fault.
    if (error instanceof RangeError) throw new TransformRunError([], 'the request body, or a value made of it, is nested too deeply');
    throw error;
  }
}

function apply(t: CompiledRequestTransform, request: OriginalRequest): TransformedRequest {
  let body: KValue;
  try {
    body = parseExact(request.body);
  } catch (error) {
    if (error instanceof RangeError) throw error;
    throw new TransformRunError([], `the request body cannot be read as JSON: ${(error as Error).message}`);
  }
  const { base, query: originalQuery } = splitUrl(request.url);
  const sessionVariables = request.sessionVariables === undefined ? eventSessionVariables(body) : request.sessionVariables;
  const bindings: Record<string, KValue> = {
    $body: body,
    $base_url: request.url,
    $session_variables: sessionVariables,
    $query_params: parseQuery(originalQuery).map(([k, v]) => [k, v]),
  };
  const run = (located: Located): KValue => {
    try {
      return located.template.run(bindings, { sessionVariables });
    } catch (error) {
      if (error instanceof KritiError) throw new TransformRunError(located.path, error.message, error);
      throw error;
    }
  };
  const text = (located: Located): string => run(located) as string;

  let url = request.url;
  if (t.url || t.query) {
    const target = t.url ? text(t.url) : base;
    if (t.url && !isHttpUrl(target)) {
      throw new TransformRunError(t.url.path, 'the template did not produce an absolute http:// or https:// URL');
    }
    const query = t.query ? renderQuery(queryPairs(t.query, text)) : originalQuery;
    url = `${splitUrl(target).base}${query === '' ? '' : `?${query}`}`;
  }

  const set: Array<[string, string]> = [];
  for (const { name, value } of t.headers?.add ?? []) {
    const rendered = text(value);
    if (/[\r\n\u0000]/.test(rendered)) throw new TransformRunError(value.path, 'the header value produced holds CR, LF or NUL');
    set.push([name, rendered]);
  }
  if (t.contentType) set.push(['Content-Type', t.contentType]);
  const headerEdits: HeaderEdits = { remove: t.headers?.remove ?? new Set(), set };
  const headers = editHeaders(
    request.headers,
    headerEdits,
    ([name]) => name,
    (name, value) => [name, value] as const,
  );

  let sent: string | undefined = request.body;
  let bodyIsJson = true;
  if (t.body === 'remove') {
    sent = undefined;
  } else if (t.body && 'json' in t.body) {
    sent = encodeJson(run(t.body.json));
  } else if (t.body) {
    sent = encodeForm(t.body.form.map(({ name, value }) => [name, text(value)] as const));
    bodyIsJson = false;
  }
  return { method: t.method ?? request.method, url, headers, headerEdits, body: sent, bodyIsJson };
}

/** Query parameters from the templates; as in Hasura, a key or value that renders as "null" drops its pair. */
function queryPairs(query: NonNullable<CompiledRequestTransform['query']>, text: (l: Located) => string): QueryPair[] {
  if ('template' in query) return parseQuery(text(query.template));
  const pairs: QueryPair[] = [];
  for (const { key, value } of query.pairs) {
    const k = text(key);
    const v = value === null ? null : text(value);
    if (k !== 'null' && v !== 'null') pairs.push([k, v]);
  }
  return pairs;
}

/**
 * The session variables of an event payload (event.session_variables), keys lower-cased, as Hasura
 * reads them; null unless that is an object of strings.
 */
export function eventSessionVariables(body: KValue): Record<string, string> | null {
  const event = isRecord(body) ? body.event : undefined;
  const vars = isRecord(event) ? event.session_variables : undefined;
  return isRecord(vars) ? lowerCasedStrings(vars) : null;
}

/** An object of strings with its keys lower-cased, or null when a value is not a string. */
export function lowerCasedStrings(vars: Readonly<Record<string, unknown>>): Record<string, string> | null {
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [key, value] of Object.entries(vars)) {
    if (typeof value !== 'string') return null;
    out[key.toLowerCase()] = value;
  }
  return out;
}

const isRecord = (v: unknown): v is Record<string, KValue> =>
  v !== null && typeof v === 'object' && !Array.isArray(v) && !('isLosslessNumber' in v);
