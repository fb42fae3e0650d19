/**
 * The shape of every operation's args, as in the Hasura spec. Validation and TypeScript types come from
 * these schemas; unknown keys are refused. What needs the live database (does the table exist?) is
 * checked by the operations themselves.
 */
import { z } from 'zod';
import { ApiError, jsonPath } from './errors.js';
import { isLossless } from './json.js';
import { isHttpUrl } from '../catalog/definition.js';
import { isTemplate, parseTemplate } from '../catalog/template.js';
import { requestTransformArg } from '../transform/schema.js';
import { scheduleProblem } from '../cleanup/schedule.js';
import { signingSecretProblem } from '../delivery/signing.js';

export const TRIGGER_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_-]*$/;
/** 'pget_' + name + '_INSERT' must fit PostgreSQL's 63-byte identifiers. */
export const TRIGGER_NAME_MAX = 42;

export const triggerName = z
  .string()
  .min(1, 'trigger name must not be empty')
  .max(TRIGGER_NAME_MAX, `trigger name must be at most ${TRIGGER_NAME_MAX} characters`)
  .regex(TRIGGER_NAME_PATTERN, 'trigger name must start with a letter and contain only letters, digits, "_" and "-"');

/**
 * An optional key for which JSON null means "absent", as in Hasura (aeson's `.:?`): tools that write
 * every key, with null for the unused ones, keep working.
 */
export const absentIfNull = <S extends z.ZodType>(schema: S) => z.preprocess((v) => (v === null ? undefined : v), schema);
export const optionalSource = absentIfNull(z.string().optional());

const identifier = z
  .string()
  .min(1, 'must not be empty')
  .max(63, 'must be at most 63 bytes')
  .refine((s) => Buffer.byteLength(s) <= 63 && !s.includes('\u0000'), 'must be at most 63 bytes, without NUL characters');

/** Hasura's QualifiedTable: {"schema", "name"}, or a bare name in schema public. */
const qualifiedTable = z.union(
  [
    z.strictObject({ schema: identifier.default('public'), name: identifier }),
    identifier.transform((name) => ({ schema: 'public', name })),
  ],
  { error: 'expected a table name or {"schema": ..., "name": ...}' },
);

// An empty list is refused by create_event_trigger's own checks, in Hasura's order and words.
const columnList = z.union([z.literal('*'), z.array(identifier)], {
  error: 'expected "*" or a list of column names',
});

const operationSpec = z.strictObject({
  columns: columnList,
  payload: absentIfNull(columnList.optional()),
});

const header = z
  .union(
    [z.strictObject({ name: z.string(), value: z.string() }), z.strictObject({ name: z.string(), value_from_env: z.string().min(1) })],
    { error: 'a header is {"name", "value"} or {"name", "value_from_env"}' },
  )
  .superRefine((h, ctx) => {
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(h.name)) {
      ctx.addIssue({ code: 'custom', message: `"${h.name}" is not a valid HTTP header name`, path: ['name'] });
    }
    if ('value' in h && /[\r\n\u0000]/.test(h.value)) {
      ctx.addIssue({ code: 'custom', message: 'header values must not contain CR, LF or NUL', path: ['value'] });
    }
    // A value is a template in Hasura (HVValue Template): {{NAME}} stands for the environment variable NAME.
    const templateError = 'value' in h ? syntaxErrorOf(h.value) : undefined;
    if (templateError) ctx.addIssue({ code: 'custom', message: templateError, path: ['value'] });
  });

/** Why a string is not a valid template, or undefined. */
function syntaxErrorOf(s: string): string | undefined {
  if (!isTemplate(s)) return undefined;
  try {
    parseTemplate(s);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

const nonNegativeInt = z.number().int('must be a whole number').min(0, 'must not be negative');

const retryConf = z
  .strictObject({
    num_retries: absentIfNull(nonNegativeInt.max(1_000_000).default(0)),
    interval_sec: absentIfNull(nonNegativeInt.max(31_536_000).default(10)),
    timeout_sec: absentIfNull(z.number().int('must be a whole number').min(1, 'must be at least 1').max(86_400).default(60)),
    // Beyond Hasura; absent unless given, so a Hasura definition is answered back exactly as sent.
    backoff: absentIfNull(z.enum(['fixed', 'exponential']).optional()),
    max_interval_sec: absentIfNull(nonNegativeInt.min(1, 'must be at least 1').max(31_536_000).optional()),
  })
  .superRefine((r, ctx) => {
    if (r.max_interval_sec !== undefined && r.max_interval_sec < r.interval_sec) {
      ctx.addIssue({
        code: 'custom',
        message: `must be at least interval_sec (${r.interval_sec}): it caps the wait that starts there`,
        path: ['max_interval_sec'],
      });
    }
  });

/** Beyond Hasura: limits that hold across every daemon (docs/api.md, flow control). */
const flowControl = z
  .strictObject({
    max_in_flight: absentIfNull(z.number().int('must be a whole number').min(1, 'must be at least 1').max(100_000).optional()),
    max_events_per_second: absentIfNull(z.number().min(0.001, 'must be at least 0.001 (one event in 1,000 s)').max(1_000_000).optional()),
  })
  .superRefine((f, ctx) => {
    if (f.max_in_flight === undefined && f.max_events_per_second === undefined) {
      ctx.addIssue({ code: 'custom', message: 'give "max_in_flight", "max_events_per_second", or both (or leave flow_control out)' });
    }
  });

/**
 * An absolute http(s) URL, or a template of one as in Hasura (InputWebhook): "{{EVENT_BASE}}/orders". A
 * template is checked once resolved, by the operation: whether it resolves depends on the environment.
 */
const webhookUrl = z.string().superRefine((s, ctx) => {
  const problem = isTemplate(s)
    ? syntaxErrorOf(s)
    : isHttpUrl(s)
      ? undefined
      : 'webhook must be an absolute http:// or https:// URL, or a template of one such as "{{EVENT_BASE}}/orders"';
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

/**
 * Hasura's AutoTriggerLogCleanupConfig, with its defaults: the schedule (cron, UTC) and age (hours) of
 * automatic cleanups. Stored with every field filled in, as Hasura writes it back.
 */
export const cleanupConfig = z.strictObject({
  schedule: z.string().superRefine((s, ctx) => {
    const problem = scheduleProblem(s);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  }),
  clear_older_than: nonNegativeInt.max(1_000_000),
  batch_size: absentIfNull(z.number().int('must be a whole number').min(1, 'must be at least 1').max(1_000_000).default(10_000)),
  timeout: absentIfNull(z.number().int('must be a whole number').min(1, 'must be at least 1').max(86_400).default(60)),
  clean_invocation_logs: absentIfNull(z.boolean().default(false)),
  paused: absentIfNull(z.boolean().default(false)),
});
export type CleanupConfigArgs = z.infer<typeof cleanupConfig>;

/**
 * The Standard Webhooks secret of signed deliveries, in the two forms of a header: the value itself
 * ("whsec_" + base64; several, space-separated, while rotating), or the environment variable holding it.
 * Messages never quote the value.
 */
const signingSecret = z.union(
  [
    z.strictObject({
      value: z.string().superRefine((s, ctx) => {
        const problem = signingSecretProblem(s);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      }),
    }),
    z.strictObject({ value_from_env: z.string().min(1, 'must not be empty') }),
  ],
  { error: 'a signing_secret is {"value": "whsec_..."} or {"value_from_env": "NAME"}' },
);

/** Keys Hasura 2 knows that this daemon does not implement: refused with not-supported, not "unknown key". */
const UNSUPPORTED_KEYS = ['response_transform'] as const;

/**
 * Refusals that Hasura's parser of create_event_trigger raises about the args as a whole (FromJSON
 * CreateEventTriggerQuery: `fail`), in its order and words. They are reported at the path of the args
 * object itself, as Hasura does: "$" on /v1/query, "$.args" on /v1/metadata (see parseArgsWith).
 */
export const HASURA_PARSER_REFUSAL = 'hasura-parser';
const parserRefusal = (ctx: z.core.$RefinementCtx, message: string) =>
  ctx.addIssue({ code: 'custom', message, path: [], params: { kind: HASURA_PARSER_REFUSAL } });

export const createEventTriggerArgs = z
  .strictObject({
    name: z.string().min(1, 'trigger name must not be empty'),
    table: qualifiedTable,
    webhook: absentIfNull(webhookUrl.optional()),
    webhook_from_env: absentIfNull(z.string().min(1, 'must not be empty').optional()),
    insert: absentIfNull(operationSpec.optional()),
    update: absentIfNull(operationSpec.optional()),
    delete: absentIfNull(operationSpec.optional()),
    headers: absentIfNull(z.array(header).default([])),
    retry_conf: absentIfNull(retryConf.default({ num_retries: 0, interval_sec: 10, timeout_sec: 60 })),
    replace: absentIfNull(z.boolean().default(false)),
    enable_manual: absentIfNull(z.boolean().optional()),
    trigger_on_replication: absentIfNull(z.boolean().default(false)),
    flow_control: absentIfNull(flowControl.optional()),
    source: optionalSource,
    request_transform: absentIfNull(requestTransformArg.optional()),
    // The older name of request_transform (docs/api.md).
    transform: absentIfNull(requestTransformArg.optional()),
    response_transform: z.unknown().optional(),
    cleanup_config: absentIfNull(cleanupConfig.optional()),
    signing_secret: absentIfNull(signingSecret.optional()),
    stringify_numeric_types: absentIfNull(z.boolean().optional()),
  })
  .superRefine((a, ctx) => {
    // Hasura's order: the name, its length, an operation (or enable_manual), one webhook, empty lists.
    if (!TRIGGER_NAME_PATTERN.test(a.name)) {
      return parserRefusal(ctx, 'only alphanumeric and underscore and hyphens allowed for name');
    }
    if (a.name.length > TRIGGER_NAME_MAX) {
      return parserRefusal(ctx, `event trigger name can be at most ${TRIGGER_NAME_MAX} characters`);
    }
    if (!a.insert && !a.update && !a.delete && a.enable_manual !== true) {
      return parserRefusal(ctx, 'atleast one amongst insert/update/delete/enable_manual spec must be provided');
    }
    if (a.webhook !== undefined && a.webhook_from_env !== undefined) {
      return parserRefusal(ctx, 'only one of webhook or webhook_from_env should be given');
    }
    if (a.webhook === undefined && a.webhook_from_env === undefined) {
      return parserRefusal(ctx, 'must provide webhook or webhook_from_env');
    }
    for (const op of ['insert', 'update', 'delete'] as const) {
      const spec = a[op];
      if (Array.isArray(spec?.columns) && spec.columns.length === 0) return parserRefusal(ctx, 'found empty column specification');
      if (Array.isArray(spec?.payload) && spec.payload.length === 0) return parserRefusal(ctx, 'found empty payload specification');
    }
    if (a.request_transform !== undefined && a.transform !== undefined) {
      ctx.addIssue({
        code: 'custom',
        message: '"transform" is the older name of "request_transform": give one of them',
        path: ['transform'],
      });
    }
    const names = new Set<string>();
    a.headers.forEach((h, i) => {
      const lower = h.name.toLowerCase();
      if (names.has(lower)) ctx.addIssue({ code: 'custom', message: `duplicate header "${h.name}"`, path: ['headers', i] });
      names.add(lower);
    });
  });
export type CreateEventTriggerArgs = z.infer<typeof createEventTriggerArgs>;

export const deleteEventTriggerArgs = z.strictObject({ name: triggerName, source: optionalSource });
export type DeleteEventTriggerArgs = z.infer<typeof deleteEventTriggerArgs>;

const uuid = z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, 'must be a UUID');

export const redeliverEventArgs = z.strictObject({ event_id: uuid, source: optionalSource });
export type RedeliverEventArgs = z.infer<typeof redeliverEventArgs>;

export const invokeEventTriggerArgs = z
  .strictObject({ name: triggerName, payload: z.unknown(), source: optionalSource })
  .superRefine((a, ctx) => {
    // Any JSON value is a payload, null included; only a missing key is refused.
    if (a.payload === undefined) ctx.addIssue({ code: 'custom', message: 'key "payload" not found', path: [] });
  });
export type InvokeEventTriggerArgs = z.infer<typeof invokeEventTriggerArgs>;

/**
 * Most rows one log query answers. Hasura sets no maximum; here a page holds at most this many events or
 * invocation logs (each up to RESPONSE_BODY_LIMIT of body plus a payload), so a client pages with offset
 * instead of asking PostgreSQL for one unbounded text. API_ANSWER_LIMIT bounds the bytes as well.
 */
export const MAX_PAGE_LIMIT = 1000;
const pageLimit = z
  .number()
  .int('must be a whole number')
  .min(0, 'must not be negative')
  .max(MAX_PAGE_LIMIT, `must be at most ${MAX_PAGE_LIMIT}: page through more with offset`);
const pageOffset = z.number().int('must be a whole number').min(0, 'must not be negative');

export const getEventLogsArgs = z.strictObject({
  name: triggerName,
  status: absentIfNull(z.enum(['pending', 'processed', 'all']).default('all')),
  limit: absentIfNull(pageLimit.default(100)),
  offset: absentIfNull(pageOffset.default(0)),
  source: optionalSource,
});
export type GetEventLogsArgs = z.infer<typeof getEventLogsArgs>;

export const getEventInvocationLogsArgs = z.strictObject({
  name: triggerName,
  limit: absentIfNull(pageLimit.default(100)),
  offset: absentIfNull(pageOffset.default(0)),
  source: optionalSource,
});
export type GetEventInvocationLogsArgs = z.infer<typeof getEventInvocationLogsArgs>;

export const getEventByIdArgs = z.strictObject({
  event_id: uuid,
  invocation_log_limit: absentIfNull(pageLimit.default(100)),
  invocation_log_offset: absentIfNull(pageOffset.default(0)),
  source: optionalSource,
});
export type GetEventByIdArgs = z.infer<typeof getEventByIdArgs>;

export const getInconsistentMetadataArgs = z.strictObject({});

/*
 * The console's read-only operations (extensions beyond Hasura: docs/api.md). Timestamps are ISO-8601
 * with a zone (Z or an offset), so that a range means the same instant on every machine.
 */
const timestamp = z.iso.datetime({
  offset: true,
  error: 'expected an ISO-8601 timestamp with a time zone, such as "2026-12-01T10:00:00Z"',
});

export const getEventTriggersArgs = z.strictObject({
  name: absentIfNull(triggerName.optional()),
  delivered_since: absentIfNull(timestamp.optional()),
  source: optionalSource,
});
export type GetEventTriggersArgs = z.infer<typeof getEventTriggersArgs>;

/** The chart's span: the last hour at most, by the minute. */
export const MAX_STATS_MINUTES = 60;
export const getDeliveryStatsArgs = z.strictObject({
  name: absentIfNull(triggerName.optional()),
  minutes: absentIfNull(
    z
      .number()
      .int('must be a whole number')
      .min(1, 'must be at least 1')
      .max(MAX_STATS_MINUTES, `must be at most ${MAX_STATS_MINUTES}`)
      .default(MAX_STATS_MINUTES),
  ),
  source: optionalSource,
});
export type GetDeliveryStatsArgs = z.infer<typeof getDeliveryStatsArgs>;

/** Most rows of a search page: its rows are light, but it is read by a person, a screen at a time. */
export const MAX_SEARCH_LIMIT = 200;
const searchLimit = z
  .number()
  .int('must be a whole number')
  .min(1, 'must be at least 1')
  .max(MAX_SEARCH_LIMIT, `must be at most ${MAX_SEARCH_LIMIT}: page through more with offset`);

const searchRange = {
  since: absentIfNull(timestamp.optional()),
  until: absentIfNull(timestamp.optional()),
  event_id: absentIfNull(uuid.optional()),
  limit: absentIfNull(searchLimit.default(50)),
  offset: absentIfNull(pageOffset.default(0)),
  source: optionalSource,
};

export const searchEventLogsArgs = z.strictObject({
  name: triggerName,
  status: absentIfNull(z.enum(['all', 'pending', 'processed', 'delivered', 'error']).default('all')),
  ...searchRange,
});
export type SearchEventLogsArgs = z.infer<typeof searchEventLogsArgs>;

export const searchEventInvocationLogsArgs = z.strictObject({
  name: triggerName,
  status: absentIfNull(z.enum(['all', 'success', 'failure']).default('all')),
  ...searchRange,
});
export type SearchEventInvocationLogsArgs = z.infer<typeof searchEventInvocationLogsArgs>;
export const getFlowControlStateArgs = z.strictObject({ name: absentIfNull(triggerName.optional()), source: optionalSource });
export type GetFlowControlStateArgs = z.infer<typeof getFlowControlStateArgs>;

const stringRecord = z.record(z.string(), z.string());

/** Sample request headers: [["name", "value"], ...] as Hasura takes them, or {"name": "value"}. */
const sampleHeaders = z
  .union([z.array(z.tuple([z.string(), z.string()])), stringRecord], {
    error: 'expected [["name", "value"], ...] or {"name": "value", ...}',
  })
  .transform((h) => (Array.isArray(h) ? h : Object.entries(h)))
  .superRefine((headers, ctx) => {
    headers.forEach(([name, value], i) => {
      if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name))
        ctx.addIssue({ code: 'custom', message: `"${name}" is not a valid HTTP header name`, path: [i] });
      if (/[\r\n\u0000]/.test(value)) ctx.addIssue({ code: 'custom', message: 'header values must not contain CR, LF or NUL', path: [i] });
    });
  });

/** Hasura's test_webhook_transform: a transform tried on a sample request, with sample values only. */
export const testWebhookTransformArgs = z
  .strictObject({
    webhook_url: z.union([z.string(), z.strictObject({ from_env: z.string().min(1, 'must not be empty') })], {
      error: 'expected a URL (or a template of one, with {{NAME}} from "env"), or {"from_env": NAME}',
    }),
    body: z.unknown(),
    request_transform: requestTransformArg,
    response_transform: z.unknown().optional(),
    session_variables: absentIfNull(stringRecord.optional()),
    env: absentIfNull(stringRecord.optional()),
    request_headers: absentIfNull(sampleHeaders.optional()),
  })
  .superRefine((a, ctx) => {
    // The sample body may be any JSON value, null included; only a missing key is refused.
    if (a.body === undefined) ctx.addIssue({ code: 'custom', message: 'key "body" not found', path: [] });
    if (typeof a.webhook_url === 'string') {
      const problem = syntaxErrorOf(a.webhook_url);
      if (problem) ctx.addIssue({ code: 'custom', message: problem, path: ['webhook_url'] });
    }
  });
export type TestWebhookTransformArgs = z.infer<typeof testWebhookTransformArgs>;

/**
 * Validates args against a schema, or throws the first problem as a parse-failed ApiError. `path` is where
 * the args are; `objectPath` where a refusal of the args as a whole is reported (HASURA_PARSER_REFUSAL).
 */
export function parseArgsWith<S extends z.ZodType>(schema: S, args: unknown, path = '$.args', objectPath = path): z.output<S> {
  if (args !== undefined && (args === null || typeof args !== 'object' || Array.isArray(args))) {
    throw new ApiError('parse-failed', `expected an object, got ${describe(args)}`, path);
  }
  const result = schema.safeParse(args ?? {}, { reportInput: true });
  if (result.success) {
    const unsupported = UNSUPPORTED_KEYS.find((k) => (result.data as Record<string, unknown>)[k] != null);
    if (unsupported) {
      throw new ApiError('not-supported', `"${unsupported}" is not supported by pg-event-triggers`, `${path}.${unsupported}`);
    }
    checkStorable(args, path);
    return result.data;
  }
  throw issueToError(result.error.issues[0]!, path, objectPath);
}

/**
 * Deepest nesting accepted anywhere in args. Payloads are re-serialised recursively (stringifyParsed)
 * and PostgreSQL parses jsonb recursively: a payload nested a few thousand levels deep would overflow a
 * stack on the way.
 */
export const MAX_ARGS_DEPTH = 1000;

/** NUL, or a UTF-16 surrogate without its pair: neither has a place in PostgreSQL text or jsonb. */
const UNSTORABLE_CHARACTER = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Refuses args PostgreSQL cannot store, before any SQL runs. Every string of the args (payload, webhook,
 * header values, identifiers) ends up in text or jsonb, where "\u0000" and lone surrogates are errors
 * (22P05, 22P02): the client's mistake, so a 400 before any SQL, not a database failure. A lone surrogate
 * in a table name would also reach PostgreSQL as U+FFFD and could match another table. Iterative, so
 * depth cannot overflow the stack here.
 */
function checkStorable(args: unknown, base: string): void {
  interface Node {
    value: unknown;
    parent: Node | undefined;
    key: string | number | undefined;
    depth: number;
  }
  const pathOf = (node: Node, key?: string): string => {
    const segments: Array<string | number> = key === undefined ? [] : [key];
    for (let n: Node | undefined = node; n?.key !== undefined; n = n.parent) segments.unshift(n.key);
    return jsonPath(base, segments);
  };
  const unstorable = (node: Node, key?: string) =>
    new ApiError(
      'parse-failed',
      `${key === undefined ? 'strings' : 'keys'} must not contain NUL characters or unpaired UTF-16 surrogates (PostgreSQL cannot store them)`,
      pathOf(node, key),
    );
  const stack: Node[] = [{ value: args, parent: undefined, key: undefined, depth: 0 }];
  while (stack.length > 0) {
    const node = stack.pop()!;
    const { value } = node;
    if (typeof node.key === 'string' && UNSTORABLE_CHARACTER.test(node.key)) throw unstorable(node.parent!, node.key);
    if (typeof value === 'string') {
      if (UNSTORABLE_CHARACTER.test(value)) throw unstorable(node);
      continue;
    }
    if (value === null || typeof value !== 'object' || isLossless(value)) continue;
    if (node.depth >= MAX_ARGS_DEPTH) {
      throw new ApiError('parse-failed', `nested deeper than ${MAX_ARGS_DEPTH} levels`, pathOf(node));
    }
    // Children pushed in reverse so the first problem in document order is the one reported.
    const children: Node[] = Array.isArray(value)
      ? (value as unknown[]).map((v, i) => ({ value: v, parent: node, key: i, depth: node.depth + 1 }))
      : Object.entries(value as Record<string, unknown>).map(([k, v]) => ({ value: v, parent: node, key: k, depth: node.depth + 1 }));
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]!);
  }
}

function issueToError(issue: z.core.$ZodIssue, base: string, objectPath: string): ApiError {
  if (issue.code === 'custom' && (issue.params as { kind?: string } | undefined)?.kind === HASURA_PARSER_REFUSAL) {
    return new ApiError('parse-failed', issue.message, objectPath);
  }
  const segments = issue.path;
  // A template that does not compile (transform/schema.ts): Hasura's validation-failed, with its errors.
  const params = issue.code === 'custom' ? (issue.params as { validation?: boolean; internal?: unknown } | undefined) : undefined;
  if (params?.validation) return new ApiError('validation-failed', issue.message, jsonPath(base, segments)).withInternal(params.internal);
  const missing = 'input' in issue && issue.input === undefined;
  if (missing && segments.length > 0 && (issue.code === 'invalid_type' || issue.code === 'invalid_union')) {
    const key = segments.at(-1);
    return new ApiError('parse-failed', `key "${String(key)}" not found`, jsonPath(base, segments.slice(0, -1)));
  }
  if (issue.code === 'invalid_type') {
    const expected = issue.expected === 'int' ? 'a whole number' : articled(issue.expected);
    return new ApiError('parse-failed', `expected ${expected}, got ${describe(issue.input)}`, jsonPath(base, segments));
  }
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys.map((k) => `"${k}"`).join(', ');
    return new ApiError('parse-failed', `unexpected key${issue.keys.length > 1 ? 's' : ''} ${keys}`, jsonPath(base, segments));
  }
  if (issue.code === 'invalid_value') {
    const allowed = issue.values.map((v) => JSON.stringify(v)).join(', ');
    return new ApiError('parse-failed', `expected one of ${allowed}`, jsonPath(base, segments));
  }
  return new ApiError('parse-failed', issue.message, jsonPath(base, segments));
}

function articled(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

/** Names a JSON value's type the way an error message should. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (isLossless(value)) return 'a number too large';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return 'a string';
  if (typeof value === 'number') return 'a number';
  if (typeof value === 'boolean') return 'a boolean';
  return typeof value;
}
