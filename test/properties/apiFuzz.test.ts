/**
 * Property-based fuzzing of the HTTP API over real sockets and a real PostgreSQL: random bodies, and
 * valid requests (every operation, bulk, JSON-RPC calls and batches) mutated by dropping and adding
 * keys, swapping types, hostile numbers and identifiers, deep nesting and duplicate keys. Whatever
 * arrives: never a 5xx, the server keeps answering, refusals are in Hasura's shape (in error.data on
 * /rpc), and a refused request leaves the catalog exactly as it was.
 *
 * The seed is fixed under CI and random otherwise, printed either way (support/seed.ts); fast-check
 * prints it again with the shrunk counterexample of a failure. Replay a run with FC_SEED=<seed>.
 */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parseJson } from '../../src/api/json.js';
import { checkHasuraAnswer, checkRpcAnswer, type Outcome, type SentBody } from '../support/apiContract.js';
import { startApi, type ApiHarness } from '../support/apiHarness.js';
import { catalogSnapshot } from '../support/catalogSnapshot.js';
import { applyMutations, mutation, targetedMutation, type Segment } from '../support/jsonMutation.js';
import { deeplyNested, RawText, toJsonText } from '../support/jsonText.js';
import { sendRaw } from '../support/rawHttp.js';
import { testSeed } from '../support/seed.js';

// Every property in this file draws from one seed: fixed under CI, random (and printed) otherwise.
fc.configureGlobal({ ...fc.readConfigureGlobal(), seed: testSeed('API fuzzing (fast-check)', 'FC_SEED', 424242) });

const WEBHOOK = 'http://127.0.0.1:9/hook';
/** The trigger valid requests act on (replaced, deleted, invoked, listed). */
const BASE = 'fuzz_t';
/** Holds the event that redeliver_event and get_event_by_id name; valid requests never delete it. */
const KEEPER = 'fuzz_keeper';
/** Stands for the keeper's event id in generated requests; swapped in when the request is sent. */
const EVENT_ID = '@@event-id@@';
const BASELINE: Record<string, Record<string, unknown>> = {
  [BASE]: {
    name: BASE,
    table: { schema: 'public', name: 'items' },
    webhook: WEBHOOK,
    insert: { columns: '*' },
    update: { columns: ['label'] },
  },
  [KEEPER]: { name: KEEPER, table: 'items', webhook_from_env: 'HOOK_URL', insert: { columns: '*', payload: ['id'] } },
};
const PROPERTY_TIMEOUT = 90_000;
const SECRET = `whsec_${randomBytes(32).toString('base64')}`;

let api: ApiHarness;
let eventId = '';
const baselineDefinitions = new Map<string, string>();

beforeAll(async () => {
  api = await startApi({ env: { HOOK_URL: WEBHOOK, TOKEN: 't0k3n', SIGNING_SECRET: SECRET } });
  await api.pool.query('create table public.items (id bigint generated always as identity primary key, label text, doc jsonb)');
  // Must survive every request: SQL smuggled in a string would show as y gone.
  await api.pool.query('create table public.y (id int)');
  await restore();
});
afterAll(() => api?.close());

async function mustSucceed(type: string, args: unknown) {
  const res = await api.query(type, args);
  expect(res.status, `${type}: ${res.text}`).toBe(200);
}

/** Puts the catalog back as the valid requests expect it: the two baseline triggers and the keeper's event. */
async function restore() {
  const { rows } = await api.pool.query<{ name: string; definition: string }>(
    'select name, definition::text as definition from event_triggers.event_triggers',
  );
  const stored = new Map(rows.map((r) => [r.name, r.definition]));
  for (const name of stored.keys()) if (!Object.hasOwn(BASELINE, name)) await mustSucceed('delete_event_trigger', { name });
  for (const [name, args] of Object.entries(BASELINE)) {
    if (baselineDefinitions.has(name) && stored.get(name) === baselineDefinitions.get(name)) continue;
    // replace only what exists: as in Hasura, replace: true on a missing trigger is not-exists.
    await mustSucceed('create_event_trigger', { ...args, replace: stored.has(name) });
    const def = await api.pool.query('select definition::text as d from event_triggers.event_triggers where name = $1', [name]);
    baselineDefinitions.set(name, def.rows[0].d);
  }
  const event = await api.pool.query('select archived from event_triggers.event_log where id::text = $1', [eventId]);
  if (!event.rows[0] || event.rows[0].archived) {
    await api.pool.query(`insert into items (label) values ('keeper')`);
    const fresh = await api.pool.query(
      `select id from event_triggers.event_log where trigger_name = $1 and not archived order by created_at desc, id limit 1`,
      [KEEPER],
    );
    eventId = fresh.rows[0].id;
  }
}

/** The server still answers, its pool holds no leaked connection, nothing was dropped by smuggled SQL. */
async function expectAlive() {
  const res = await sendRaw(api.url, {
    path: '/v1/metadata',
    body: '{"type": "get_inconsistent_metadata", "args": {}}',
    contentType: 'application/json',
  });
  expect(res.status, res.text).toBe(200);
  expect(JSON.parse(res.text)).toEqual({ is_consistent: true, inconsistent_objects: [] });
  expect(api.pool.waitingCount).toBe(0);
  expect(api.pool.idleCount, 'a connection was not given back to the pool').toBe(api.pool.totalCount);
  const tables = await api.pool.query(`select to_regclass('public.y') is not null as y, to_regclass('public.items') is not null as items`);
  expect(tables.rows[0]).toEqual({ y: true, items: true });
}

/** What the server reads from a body: the same UTF-8 decoding, blank is "empty", then lossless JSON. */
function asServerParses(body: string | Uint8Array): SentBody {
  const text = typeof body === 'string' ? body : new TextDecoder().decode(body);
  if (text.trim() === '') return undefined;
  try {
    return { json: parseJson(text) };
  } catch {
    return undefined;
  }
}

/**
 * Sends one request and checks the contract; a refusal must leave the catalog as it was, anything else
 * is undone before the next run.
 */
async function exchange(path: string, body: string | Uint8Array, contentType: string | undefined) {
  const before = await catalogSnapshot(api.pool);
  let clean = false;
  try {
    const res = await sendRaw(api.url, { path, body, contentType });
    const outcome: Outcome = path === '/rpc' ? checkRpcAnswer(res, asServerParses(body)) : checkHasuraAnswer(res);
    if (outcome === 'error') {
      expect(await catalogSnapshot(api.pool), `a refused request changed the catalog: ${res.text.slice(0, 300)}`).toEqual(before);
      clean = true;
    }
  } finally {
    if (!clean) await restore();
  }
  await expectAlive();
}

const withEventId = (text: string) => text.replaceAll(JSON.stringify(EVENT_ID), JSON.stringify(eventId));

// ---- valid requests, the starting points of mutation ----

const columnSelection = fc.constantFrom<unknown>('*', ['id'], ['label'], ['label', 'doc'], ['id', 'label', 'doc']);
const operationSpec = fc.record({ columns: columnSelection, payload: columnSelection }, { requiredKeys: ['columns'] });
const header = fc.oneof(
  fc.record({ name: fc.constantFrom('X-A', 'X-B', 'Authorization'), value: fc.string({ maxLength: 10 }) }),
  fc.constant({ name: 'X-Token', value_from_env: 'TOKEN' }),
);

/** Request transforms with a template in each part, for create_event_trigger and test_webhook_transform. */
const requestTransform = fc.record(
  {
    version: fc.constant(2),
    method: fc.constantFrom('PUT', 'GET'),
    url: fc.constant('{{$base_url}}/x/{{ $body?.event?.op ?? "none" }}'),
    query_params: fc.constantFrom<unknown>({ a: '{{$body?.id}}', b: null }, 'a={{ escapeUri("é") }}'),
    request_headers: fc.constant({ add_headers: { 'X-A': '{{ toUpper("a") }}' }, remove_headers: ['User-Agent'] }),
    body: fc.constantFrom<unknown>(
      { action: 'remove' },
      { action: 'transform', template: '{"x": {{$body}}}' },
      { action: 'x_www_form_urlencoded', form_template: { f: '{{ $body?.id }}' } },
    ),
  },
  { requiredKeys: [] },
);

const createArgs = fc
  .record(
    {
      name: fc.constantFrom('fz_new', 'Fz-Other_2', 'f'.repeat(42)),
      table: fc.constantFrom<unknown>('items', { schema: 'public', name: 'items' }, { name: 'items' }),
      fromEnv: fc.boolean(),
      insert: operationSpec,
      update: operationSpec,
      delete: operationSpec,
      headers: fc.uniqueArray(header, { maxLength: 3, selector: (h) => h.name.toLowerCase() }),
      retry_conf: fc.record(
        { num_retries: fc.nat(10), interval_sec: fc.nat(60), timeout_sec: fc.integer({ min: 1, max: 120 }) },
        { requiredKeys: [] },
      ),
      replace: fc.boolean(),
      enable_manual: fc.boolean(),
      trigger_on_replication: fc.boolean(),
      request_transform: requestTransform,
      cleanup_config: fc.record(
        {
          schedule: fc.constantFrom('0 3 * * *', '*/5 * * * *', '@daily', '0 0 1 1 MON'),
          clear_older_than: fc.nat(1000),
          batch_size: fc.integer({ min: 1, max: 100_000 }),
          timeout: fc.integer({ min: 1, max: 600 }),
          clean_invocation_logs: fc.boolean(),
          paused: fc.boolean(),
        },
        { requiredKeys: ['schedule', 'clear_older_than'] },
      ),
      signing_secret: fc.constantFrom<unknown>({ value: SECRET }, { value: `${SECRET} ${SECRET}` }, { value_from_env: 'SIGNING_SECRET' }),
    },
    { requiredKeys: ['name', 'table', 'fromEnv'] },
  )
  .map(({ fromEnv, ...args }) => {
    const withOp = args.insert || args.update || args.delete ? args : { ...args, insert: { columns: '*' } };
    return fromEnv ? { ...withOp, webhook_from_env: 'HOOK_URL' } : { ...withOp, webhook: WEBHOOK };
  });

const triggerName = fc.constantFrom(BASE, KEEPER);
const page = { limit: fc.nat(200), offset: fc.nat(10) };

interface Op {
  type: string;
  args: unknown;
}

const plainOperation: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: createArgs.map((args) => ({ type: 'create_event_trigger', args })) },
  {
    weight: 1,
    arbitrary: fc.constant({
      type: 'create_event_trigger',
      args: { ...BASELINE[BASE], delete: { columns: '*' }, retry_conf: { num_retries: 2 }, replace: true },
    }),
  },
  { weight: 1, arbitrary: fc.constant({ type: 'delete_event_trigger', args: { name: BASE } }) },
  { weight: 1, arbitrary: fc.constant({ type: 'redeliver_event', args: { event_id: EVENT_ID } }) },
  {
    weight: 2,
    arbitrary: fc
      .record({ name: triggerName, payload: fc.jsonValue({ maxDepth: 2 }) })
      .map((args) => ({ type: 'invoke_event_trigger', args })),
  },
  {
    weight: 1,
    arbitrary: fc
      .record({ name: triggerName, status: fc.constantFrom('pending', 'processed', 'all'), ...page }, { requiredKeys: ['name'] })
      .map((args) => ({ type: 'get_event_logs', args })),
  },
  {
    weight: 1,
    arbitrary: fc
      .record({ name: triggerName, ...page }, { requiredKeys: ['name'] })
      .map((args) => ({ type: 'get_event_invocation_logs', args })),
  },
  {
    weight: 1,
    arbitrary: fc
      .record(
        { event_id: fc.constant(EVENT_ID), invocation_log_limit: fc.nat(10), invocation_log_offset: fc.nat(10) },
        { requiredKeys: ['event_id'] },
      )
      .map((args) => ({ type: 'get_event_by_id', args })),
  },
  { weight: 1, arbitrary: fc.constant({ type: 'get_inconsistent_metadata', args: {} }) },
  {
    weight: 1,
    arbitrary: fc
      .record({ webhook_url: fc.constant(WEBHOOK), body: fc.jsonValue({ maxDepth: 2 }), request_transform: requestTransform })
      .map((args) => ({ type: 'test_webhook_transform', args })),
  },
  {
    weight: 1,
    arbitrary: fc
      .record(
        {
          event_trigger_name: triggerName,
          clear_older_than: fc.nat(1000),
          batch_size: fc.integer({ min: 1, max: 100_000 }),
          timeout: fc.integer({ min: 1, max: 60 }),
          clean_invocation_logs: fc.boolean(),
        },
        { requiredKeys: ['event_trigger_name', 'clear_older_than'] },
      )
      .map((args) => ({ type: 'cleanup_event_trigger_logs', args })),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(
        fc.constantFrom('pause_event_trigger_cleanups', 'resume_event_trigger_cleanups'),
        fc.constantFrom<unknown>(
          { sources: '*' },
          { sources: ['default'] },
          [{ source_name: 'default', event_triggers: [BASE] }],
          [{ event_triggers: [BASE, KEEPER] }],
        ),
      )
      .map(([type, eventTriggers]) => ({ type, args: { event_triggers: eventTriggers } })),
  },
);

/** Well-formed, refused only by what the database holds: in a bulk, they undo what came before. */
const refusedByTheDatabase: fc.Arbitrary<Op> = fc.constantFrom(
  { type: 'delete_event_trigger', args: { name: 'ghost' } },
  { type: 'invoke_event_trigger', args: { name: 'ghost', payload: {} } },
  { type: 'redeliver_event', args: { event_id: '00000000-0000-4000-8000-000000000000' } },
  { type: 'get_event_by_id', args: { event_id: '00000000-0000-4000-8000-000000000000' } },
  { type: 'create_event_trigger', args: { name: BASE, table: 'items', webhook: WEBHOOK, insert: { columns: '*' } } },
  { type: 'create_event_trigger', args: { name: 'fz_new', table: 'nope', webhook: WEBHOOK, insert: { columns: '*' } } },
  { type: 'create_event_trigger', args: { name: 'fz_new', table: 'items', webhook: WEBHOOK, update: { columns: ['nope'] } } },
  { type: 'create_event_trigger', args: { name: 'fz_new', table: 'items', webhook_from_env: 'UNSET', insert: { columns: '*' } } },
);

/** Every operation under its spec name, or Hasura 2's pg_ name with a source. */
const operation: fc.Arbitrary<Op> = fc
  .tuple(fc.oneof({ weight: 5, arbitrary: plainOperation }, { weight: 1, arbitrary: refusedByTheDatabase }), fc.boolean())
  .map(([op, hasura2]) =>
    hasura2 && op.type !== 'get_inconsistent_metadata' && op.type !== 'test_webhook_transform'
      ? { type: `pg_${op.type}`, args: { ...(op.args as object), source: 'default' } }
      : op,
  );

/** Where the args of an operation reach SQL, the catalog or a webhook. */
const ARG_PATHS: Segment[][] = [
  ['name'],
  ['table'],
  ['table', 'name'],
  ['table', 'schema'],
  ['insert', 'columns'],
  ['insert', 'columns', 0],
  ['update', 'columns', 1],
  ['insert', 'payload'],
  ['delete', 'payload', 0],
  ['payload'],
  ['payload', 'k'],
  ['webhook'],
  ['webhook_from_env'],
  ['headers', 0, 'name'],
  ['headers', 0, 'value'],
  ['headers', 0, 'value_from_env'],
  ['retry_conf', 'num_retries'],
  ['retry_conf', 'timeout_sec'],
  ['event_id'],
  ['status'],
  ['limit'],
  ['offset'],
  ['invocation_log_limit'],
  ['source'],
  ['replace'],
  ['cleanup_config', 'schedule'],
  ['cleanup_config', 'clear_older_than'],
  ['cleanup_config', 'batch_size'],
  ['signing_secret', 'value'],
  ['signing_secret', 'value_from_env'],
  ['event_trigger_name'],
  ['clear_older_than'],
  ['timeout'],
  ['event_triggers'],
  ['event_triggers', 'sources'],
  ['event_triggers', 0, 'source_name'],
  ['event_triggers', 0, 'event_triggers', 0],
];

const under = (prefix: Segment[]) => ARG_PATHS.map((p) => [...prefix, ...p]);

/** Zero to three mutations (zero: the valid request itself, which must then succeed or fail cleanly). */
const mutationsOf = (paths: Segment[][]) =>
  fc.array(fc.oneof({ weight: 3, arbitrary: mutation }, { weight: 2, arbitrary: targetedMutation(paths) }), { maxLength: 3 });

/** Mutations for a Hasura request, aimed at its own args (each operation's, for a bulk). */
const hasuraMutationsFor = (request: { type?: unknown; args?: unknown }) =>
  mutationsOf(
    request.type === 'bulk' && Array.isArray(request.args)
      ? [['type'], ['args'], ...request.args.flatMap((_, i) => [['args', i, 'type'], ...under(['args', i, 'args'])])]
      : [['type'], ['args'], ...under(['args'])],
  );

/** A request with mutations drawn for its own shape. */
const withMutations = <T extends { type?: unknown; args?: unknown }>(request: fc.Arbitrary<T>) =>
  request.chain((r) => fc.tuple(fc.constant(r), hasuraMutationsFor(r)));

const mutatedOperation = withMutations(operation).map(([op, ms]) => applyMutations(op, ms));

/** bulk of valid operations and mutated ones, mixed. */
const bulk = fc
  .array(fc.oneof(operation, mutatedOperation, refusedByTheDatabase), { minLength: 1, maxLength: 4 })
  .map((args) => ({ type: 'bulk', args }));

const hasuraRequest = fc.oneof({ weight: 3, arbitrary: operation }, { weight: 1, arbitrary: bulk });

const jsonContentType = fc.oneof(
  { weight: 6, arbitrary: fc.constant('application/json') },
  {
    weight: 1,
    arbitrary: fc.constantFrom(undefined, 'application/x-www-form-urlencoded', 'text/plain', 'application/json; charset=utf-8'),
  },
);

// ---- JSON-RPC ----

const validId = fc.oneof(fc.nat(), fc.string({ maxLength: 8 }), fc.constant(null));
const wrongId = fc.oneof(
  fc.constantFrom<unknown>(true, [], {}, [1], { id: 1 }, Number.MAX_SAFE_INTEGER, -1.5),
  fc.constantFrom('123456789012345678901234567890', '1e400').map((t) => new RawText(t)),
);

const rpcCall = fc
  .record({
    op: fc.oneof({ weight: 4, arbitrary: operation }, { weight: 1, arbitrary: bulk }),
    // Absent: a notification.
    id: fc.oneof({ weight: 6, arbitrary: validId }, { weight: 1, arbitrary: wrongId }, { weight: 2, arbitrary: fc.constant(undefined) }),
  })
  .map(({ op, id }) => ({ jsonrpc: '2.0', ...(id !== undefined ? { id } : {}), method: op.type, params: op.args }));

const rpcMutations = mutationsOf([['jsonrpc'], ['id'], ['method'], ['params'], ...under(['params']), ...under(['params', 0, 'args'])]);

const mutatedCall = fc.tuple(rpcCall, rpcMutations).map(([call, ms]) => applyMutations(call, ms));

const rpcRequest = fc.oneof(
  { weight: 3, arbitrary: mutatedCall },
  {
    weight: 2,
    arbitrary: fc
      .tuple(
        fc.array(
          fc.oneof(
            { weight: 2, arbitrary: rpcCall },
            { weight: 2, arbitrary: mutatedCall },
            { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 1 }) },
          ),
          {
            minLength: 0,
            maxLength: 5,
          },
        ),
        mutationsOf([[0], [1, 'id'], [0, 'params'], ...under([0, 'params'])]),
      )
      .map(([calls, ms]) => applyMutations(calls, ms)),
  },
);

// ---- random bodies ----

const randomBody: fc.Arbitrary<string | Uint8Array> = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.json(),
  fc.json({ stringUnit: 'binary' }),
  fc.uint8Array({ maxLength: 300 }),
  fc.constantFrom(
    '',
    ' \n\t',
    'null',
    'true',
    '0',
    '"x"',
    '[]',
    '{}',
    '[[]]',
    '[{}]',
    '[1, 2, 3]',
    '1e400',
    '\uFEFF{}',
    '{"type": ',
    '{"type": "bulk"}',
    '{"type": "bulk", "args": []}',
    '{"type": "bulk", "args": {}}',
    '{"jsonrpc": "2.0"}',
    '{"jsonrpc": "2.0", "method": "bulk", "params": [], "id": 1}',
    '{"type": "a", "type": "b"}',
    '{"__proto__": {"type": "get_inconsistent_metadata"}}',
    '{"type": "get_inconsistent_metadata", "args": {}, "args": {}}',
    'NaN',
    '[1,]',
    "{'type': 'bulk'}",
  ),
  fc
    .tuple(fc.constantFrom(10, 1_000, 10_000, 100_000), fc.constantFrom<'array' | 'object'>('array', 'object'), fc.boolean())
    .map(([depth, kind, truncated]) => {
      const text = deeplyNested(depth, kind).text;
      return truncated ? text.slice(0, text.length - 1) : text;
    }),
);

const anyContentType = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.constantFrom(
      undefined,
      'application/json',
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/json; charset=utf-16',
      'application/json; charset=latin1',
      'application/octet-stream',
      'application/xml',
      '',
      ';',
      'a/b/c',
      '*/*',
      'application/json;;;',
    ),
  },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme-ascii', maxLength: 30 }) },
);

const endpoint = fc.constantFrom('/v1/query', '/v1/metadata', '/rpc');

describe('the API under fuzzing', () => {
  test(
    'random bodies and content types on every endpoint: never 5xx, errors in shape, nothing changed',
    async () => {
      await fc.assert(
        fc.asyncProperty(endpoint, randomBody, anyContentType, (path, body, contentType) => exchange(path, body, contentType)),
        { numRuns: 200 },
      );
    },
    PROPERTY_TIMEOUT,
  );

  test(
    'mutated valid requests and bulks on /v1/query and /v1/metadata',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          withMutations<Op | { type: string; args: unknown[] }>(hasuraRequest),
          fc.constantFrom('/v1/query', '/v1/metadata'),
          jsonContentType,
          ([request, ms], path, contentType) => exchange(path, withEventId(toJsonText(applyMutations(request, ms))), contentType),
        ),
        { numRuns: 300 },
      );
    },
    PROPERTY_TIMEOUT,
  );

  test(
    'mutated JSON-RPC calls and batches mixing good and bad calls on /rpc',
    async () => {
      await fc.assert(
        fc.asyncProperty(rpcRequest, jsonContentType, (request, contentType) =>
          exchange('/rpc', withEventId(toJsonText(request)), contentType),
        ),
        { numRuns: 250 },
      );
    },
    PROPERTY_TIMEOUT,
  );
});

/**
 * The counterexamples the properties above shrank to, before the fixes in src/api/schemas.ts
 * (checkStorable) and src/api/operations/events.ts (a payload number beyond numeric): each answered 500,
 * or a JSON-RPC -32603.
 */
describe('regressions found by the properties', () => {
  async function expectRefusal(path: '/v1/query' | '/rpc', body: string, expected: { path: string | RegExp; error: RegExp }) {
    const before = await catalogSnapshot(api.pool);
    const res = await sendRaw(api.url, { path, body: withEventId(body), contentType: 'application/json' });
    const parsed = JSON.parse(res.text);
    if (path === '/rpc') {
      expect(res.status, res.text).toBe(200);
      expect(checkRpcAnswer(res, asServerParses(body))).toBe('error');
      expect(parsed.error.code, res.text).toBe(-32602);
      expect(parsed.error.data.code).toBe('parse-failed');
      expectPath(parsed.error.data.path, expected.path);
      expect(parsed.error.data.error).toMatch(expected.error);
    } else {
      expect(res.status, res.text).toBe(400);
      expect(checkHasuraAnswer(res)).toBe('error');
      expect(parsed.code).toBe('parse-failed');
      expectPath(parsed.path, expected.path);
      expect(parsed.error).toMatch(expected.error);
    }
    expect(await catalogSnapshot(api.pool)).toEqual(before);
    await expectAlive();
  }
  function expectPath(actual: string, expected: string | RegExp) {
    if (typeof expected === 'string') expect(actual).toBe(expected);
    else expect(actual).toMatch(expected);
  }
  const unstorable = /NUL characters or unpaired UTF-16 surrogates/;

  test('a payload holding "\\u0000"', async () => {
    await expectRefusal('/v1/query', `{"type":"invoke_event_trigger","args":{"name":"${BASE}","payload":["\\u0000"]}}`, {
      path: '$.args.payload[0]',
      error: unstorable,
    });
  });

  test('a payload key holding "\\u0000"', async () => {
    await expectRefusal('/v1/query', `{"type":"invoke_event_trigger","args":{"name":"${BASE}","payload":{"\\u0000":1}}}`, {
      path: '$.args.payload["\\u0000"]',
      error: /keys must not contain/,
    });
  });

  test('"\\u0000" in a payload inside a bulk', async () => {
    const body = `{"type":"bulk","args":[{"type":"invoke_event_trigger","args":{"name":"${BASE}","payload":"\\u0000"}},{"type":"get_event_invocation_logs","args":{"name":"${BASE}"}}]}`;
    await expectRefusal('/v1/query', body, { path: '$.args[0].args.payload', error: unstorable });
  });

  test('an unpaired surrogate in a payload over JSON-RPC', async () => {
    const body = `{"jsonrpc":"2.0","id":null,"method":"invoke_event_trigger","params":{"name":"${BASE}","payload":[["\\ud800"]]}}`;
    await expectRefusal('/rpc', body, { path: '$.args.payload[0][0]', error: unstorable });
  });

  test('an unpaired surrogate in a webhook URL over JSON-RPC', async () => {
    const body = `{"jsonrpc":"2.0","id":"","method":"pg_create_event_trigger","params":{"name":"${BASE}","table":"items","webhook":"http://127.0.0.1:9/\\ud800","insert":{"columns":"*"},"replace":true}}`;
    await expectRefusal('/rpc', body, { path: '$.args.webhook', error: unstorable });
  });

  test('an unpaired surrogate in a header value', async () => {
    const body = `{"type":"create_event_trigger","args":{"name":"fz_new","table":"items","webhook":"${WEBHOOK}","insert":{"columns":"*"},"headers":[{"name":"X-A","value":"\\udc00\\ud800"}]}}`;
    await expectRefusal('/v1/query', body, { path: '$.args.headers[0].value', error: unstorable });
  });

  test('a payload number beyond PostgreSQL numeric', async () => {
    for (const n of ['1e999999', '-1e131073', '1e-16384', `1${'0'.repeat(140_000)}`]) {
      await expectRefusal('/v1/query', `{"type":"invoke_event_trigger","args":{"name":"${BASE}","payload":{"n":${n}}}}`, {
        path: '$.args.payload',
        error: /value overflows numeric format/,
      });
    }
  });

  test('a payload nested thousands of levels deep; 999 levels are still fine', async () => {
    const nested = (depth: number) => deeplyNested(depth, 'array').text;
    // Refused by the depth check, or earlier by the JSON parser when the stack is shorter.
    await expectRefusal('/v1/query', `{"type":"invoke_event_trigger","args":{"name":"${BASE}","payload":${nested(4_000)}}}`, {
      path: /^\$(\.args\.payload(\[0\])+)?$/,
      error: /nested deeper than 1000 levels|invalid JSON/,
    });
    await expectRefusal('/v1/query', `{"type":"invoke_event_trigger","args":{"name":"${BASE}","payload":${nested(1_000)}}}`, {
      path: `$.args.payload${'[0]'.repeat(999)}`,
      error: /nested deeper than 1000 levels/,
    });
    const fine = await api.query('invoke_event_trigger', { name: BASE, payload: JSON.parse(nested(999)) });
    expect(fine.status, fine.text).toBe(200);
  });
});
