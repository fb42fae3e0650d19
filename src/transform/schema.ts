/**
 * Hasura 2's request transform (RequestTransform) as the API takes it and as the catalog stores it.
 *
 * Stored, and answered, in Hasura's own encoding of it (its ToJSON): "version" and "template_engine"
 * always present, absent fields left out, "request_headers" with both of its lists. A transform sent
 * in that form comes back unchanged; one that leaves out defaults comes back with them, as from Hasura.
 *
 * Every template is compiled when the transform is validated: a syntax error is refused at the
 * template's path with Hasura's code (validation-failed) and its Kriti error in "internal".
 */
import { z } from 'zod';
import { compileRequestTransform, TransformCompileError } from './requestTransform.js';

export type BodyTransform =
  | { action: 'remove' }
  | { action: 'transform'; template: string }
  | { action: 'x_www_form_urlencoded'; form_template: Record<string, string> };

/** Values Hasura 2.1 took for content_type; it sets the Content-Type header sent. */
export const CONTENT_TYPES = ['application/json', 'application/x-www-form-urlencoded'] as const;

export interface RequestTransformDefinition {
  version: 1 | 2;
  template_engine: 'Kriti';
  /** Replaces the method (POST). */
  method?: string;
  /** A string template: the URL to call ({{$base_url}} is the webhook). */
  url?: string;
  /** Templates for the query string: an object of key and value templates (null: the key alone), or one template of the whole. */
  query_params?: Record<string, string | null> | string;
  request_headers?: { add_headers: Record<string, string>; remove_headers: string[] };
  /** Version 1: a template of the JSON body. Version 2: what to do with the body. */
  body?: string | BodyTransform;
  content_type?: (typeof CONTENT_TYPES)[number];
}

/** A header name (RFC 9110 token). */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Headers the HTTP client computes itself or refuses to be given. */
const RESERVED_HEADERS = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade', 'expect', 'host']);

/** As in Hasura (aeson's .:?), null for an optional key means the key is absent. */
const optional = <S extends z.ZodType>(schema: S) => z.preprocess((v) => (v === null ? undefined : v), schema.optional());

const method = z
  .string()
  .regex(HEADER_NAME, 'must be an HTTP method such as "GET" or "PUT"')
  .refine((m) => m.toUpperCase() !== 'CONNECT', 'CONNECT cannot be the method of a webhook call');

const noLineBreaks = z.string().refine((v) => !/[\r\n\u0000]/.test(v), 'header values must not contain CR, LF or NUL');

const requestHeaders = z
  .strictObject({
    add_headers: optional(z.record(z.string(), noLineBreaks)),
    remove_headers: optional(z.array(z.string())),
  })
  .superRefine((h, ctx) => {
    for (const name of Object.keys(h.add_headers ?? {})) {
      const problem = !HEADER_NAME.test(name)
        ? `"${name}" is not a valid HTTP header name`
        : RESERVED_HEADERS.has(name.toLowerCase())
          ? `"${name}" cannot be set by a transform: the HTTP client sets it`
          : undefined;
      if (problem) ctx.addIssue({ code: 'custom', message: problem, path: ['add_headers', name] });
    }
  });

/** An object of templates (null: a key without a value), or one template of the whole query string. */
const queryParams = z.union([z.string(), z.record(z.string(), z.string().nullable())], {
  error: 'expected a template string, or an object of key and value templates',
});

const bodyV2 = z
  .strictObject({
    action: z.enum(['remove', 'transform', 'x_www_form_urlencoded']),
    template: optional(z.string()),
    form_template: optional(z.record(z.string(), z.string())),
  })
  .superRefine((b, ctx) => {
    const wanted = b.action === 'transform' ? 'template' : b.action === 'x_www_form_urlencoded' ? 'form_template' : undefined;
    for (const key of ['template', 'form_template'] as const) {
      if (key === wanted && b[key] === undefined) ctx.addIssue({ code: 'custom', message: `key "${key}" not found`, path: [] });
      if (key !== wanted && b[key] !== undefined) {
        ctx.addIssue({ code: 'custom', message: `"${key}" does not go with action "${b.action}"`, path: [key] });
      }
    }
  });

const version = z.number().refine((v) => v === 1 || v === 2, { error: (issue) => `expected 1 or 2, encountered ${String(issue.input)}` });

const requestTransformShape = z
  .strictObject({
    version: optional(version),
    template_engine: optional(z.literal('Kriti')),
    method: optional(method),
    url: optional(z.string()),
    query_params: optional(queryParams),
    request_headers: optional(requestHeaders),
    body: optional(z.unknown()),
    content_type: optional(z.enum(CONTENT_TYPES)),
  })
  .superRefine((t, ctx) => {
    if (t.body === undefined) return;
    // Hasura reads the body by version: a template string in version 1, {"action": ...} in version 2.
    if ((t.version ?? 1) === 1) {
      if (typeof t.body !== 'string') {
        ctx.addIssue({
          code: 'custom',
          message: 'version 1 takes the body as a template string; for {"action": ...} set "version": 2',
          path: ['body'],
        });
      }
      return;
    }
    if (typeof t.body === 'string') {
      ctx.addIssue({
        code: 'custom',
        message: 'version 2 takes the body as {"action": "transform", "template": ...} (or "remove", "x_www_form_urlencoded")',
        path: ['body'],
      });
      return;
    }
    const parsed = bodyV2.safeParse(t.body, { reportInput: true });
    for (const issue of parsed.error?.issues ?? []) ctx.addIssue({ ...issue, path: ['body', ...issue.path] });
  });

/** Hasura's encoding of a transform (its ToJSON), keys in its order. */
function normalize(t: z.output<typeof requestTransformShape>): RequestTransformDefinition {
  const def: RequestTransformDefinition = { version: t.version === 2 ? 2 : 1, template_engine: 'Kriti' };
  if (t.method !== undefined) def.method = t.method;
  if (t.url !== undefined) def.url = t.url;
  if (t.query_params !== undefined) def.query_params = t.query_params;
  if (t.request_headers !== undefined) {
    def.request_headers = { add_headers: t.request_headers.add_headers ?? {}, remove_headers: t.request_headers.remove_headers ?? [] };
  }
  if (t.body !== undefined) def.body = typeof t.body === 'string' ? t.body : stripNulls(t.body as BodyTransform);
  if (t.content_type !== undefined) def.content_type = t.content_type;
  return def;
}

const stripNulls = (body: BodyTransform): BodyTransform =>
  body.action === 'remove'
    ? { action: 'remove' }
    : body.action === 'transform'
      ? { action: 'transform', template: body.template }
      : { action: 'x_www_form_urlencoded', form_template: body.form_template };

/**
 * request_transform as an argument: validated, normalised to Hasura's encoding, and every template
 * compiled. A template that does not compile is an issue carrying params.validation, which the API
 * answers as validation-failed (see issueToError in api/schemas.ts).
 */
export const requestTransformArg = requestTransformShape.transform(normalize).superRefine((def, ctx) => {
  try {
    compileRequestTransform(def);
  } catch (error) {
    if (!(error instanceof TransformCompileError)) throw error;
    ctx.addIssue({
      code: 'custom',
      message: `request transform validation failed: ${error.kriti.message}`,
      path: error.path,
      params: { validation: true, internal: [error.kriti.toHasura()] },
    });
  }
});
