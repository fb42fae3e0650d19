/**
 * Secrets stay secret: the admin secret (sent right or wrong), header values from the environment, a
 * signing secret from the environment and a webhook URL from the environment never appear in the daemon's log output (at LOG_LEVEL=trace), in the
 * catalog's tables (invocation logs included) or in any API answer, while the webhook does receive them.
 * Every route but /healthz needs the admin secret, including routes that do not exist; a web page's
 * cross-site request is refused whatever it carries.
 */
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { buildApp } from '../../src/api/app.js';
import type { OperationContext } from '../../src/api/operations/context.js';
import { callApi, query, type ApiAnswer } from '../support/daemonApi.js';
import { eventually, openTestDatabase } from '../support/daemonHarness.js';
import { spawnDaemon, type DaemonProcess } from '../support/daemonProcess.js';
import { freePort } from '../support/ports.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhookReceiver.js';

const token = () => randomBytes(6).toString('hex');
const ADMIN_SECRET = `adm1n-SECRET-${token()}`;
const HEADER_VALUE = `s3cr3t-HEADER-value-${token()}`;
const URL_TOKEN = `url-T0KEN-${token()}`;
/** Its base64 part is what must not leak (the whsec_ prefix is no secret). */
const SIGNING_KEY = randomBytes(32).toString('base64');
/** Wrong secrets a client might send; the second contains the real one, so logging it would leak it. */
const WRONG_SECRETS = [`wr0ng-SECRET-${token()}`, `${ADMIN_SECRET}-but-longer`];
const SECRETS = [ADMIN_SECRET, HEADER_VALUE, URL_TOKEN, ...WRONG_SECRETS, SIGNING_KEY];
const SCHEMA = 'secret_catalog';

let database: Awaited<ReturnType<typeof openTestDatabase>>;
let webhook: WebhookReceiver;
let daemon: DaemonProcess;
let deadUrl: string;
const admin = { 'x-hasura-admin-secret': ADMIN_SECRET };

/** Which of the secrets a text contains (by name, so a failure does not print them). */
function leaks(text: string): string[] {
  const names = ['ADMIN_SECRET', 'HEADER_VALUE', 'URL_TOKEN', 'WRONG_SECRET_1', 'WRONG_SECRET_2', 'SIGNING_KEY'];
  return SECRETS.flatMap((s, i) => (text.includes(s) ? [names[i]!] : []));
}

beforeAll(async () => {
  database = await openTestDatabase();
  // The token in the path and in the query string, as in the URLs of many hosted webhooks.
  webhook = await startWebhookReceiver(`/hooks/${URL_TOKEN}?sig=${URL_TOKEN}`);
  deadUrl = `http://127.0.0.1:${await freePort()}/hooks/${URL_TOKEN}?sig=${URL_TOKEN}`;
  daemon = await spawnDaemon({
    DATABASE_URL: database.db.url,
    EVENT_TRIGGERS_SCHEMA: SCHEMA,
    ADMIN_SECRET,
    HOST: '127.0.0.1',
    LOG_LEVEL: 'trace',
    EVENTS_FETCH_INTERVAL: '500',
    HOOK_URL: webhook.url,
    DEAD_HOOK_URL: deadUrl,
    HOOK_SECRET_HEADER: HEADER_VALUE,
    HOOK_SIGNING_SECRET: `whsec_${SIGNING_KEY}`,
  });
});
afterAll(async () => {
  if (daemon && daemon.child.exitCode === null && daemon.child.signalCode === null) await daemon.kill('SIGKILL');
  await webhook?.close();
  await database?.close();
});

/** Every route the app registers, with its methods, read from Fastify itself. */
async function registeredRoutes(): Promise<Array<{ path: string; method: string }>> {
  const app = await buildApp({
    ctx: {} as OperationContext, // the handlers are not called
    adminSecret: 'x',
    bodyLimit: 1024,
    version: 'test',
    health: () => Promise.resolve({ ok: true }),
    log: pino({ level: 'silent' }),
  });
  await app.ready();
  const tree = app.printRoutes({ commonPrefix: false });
  await app.close();
  // printRoutes nests a route under its parent (four columns a level): join the segments back.
  const parents: string[] = [];
  const routes: Array<{ path: string; method: string }> = [];
  for (const line of tree.split('\n')) {
    const match = /^(.*?)[└├]── (\S+)(?: \(([^)]+)\))?$/.exec(line);
    if (!match) continue;
    const depth = match[1]!.length / 4;
    parents.length = depth;
    const path = parents.join('') + match[2]!;
    parents.push(match[2]!);
    for (const method of match[3]?.split(', ') ?? []) routes.push({ path, method });
  }
  return routes;
}

/** The web console's files (src/console/routes.ts), served without the secret. */
const CONSOLE_ROUTES = ['GET /console', 'HEAD /console', 'GET /console/', 'HEAD /console/', 'GET /console/*', 'HEAD /console/*'];

/** A request body each route accepts once authenticated. */
const bodyFor = (path: string) =>
  path === '/rpc'
    ? { jsonrpc: '2.0', id: 1, method: 'get_inconsistent_metadata', params: {} }
    : path.startsWith('/v1/') && path !== '/v1/version'
      ? { type: 'get_inconsistent_metadata', args: {} }
      : undefined;

describe('the admin secret', () => {
  const refused: string[] = [];

  test('every route but /healthz answers 401 without the secret or with a wrong one, and works with it', async () => {
    const routes = await registeredRoutes();
    // What app.ts registers: the test below must cover each of them.
    expect(routes.map((r) => `${r.method} ${r.path}`).sort()).toEqual(
      [
        'GET /healthz',
        'HEAD /healthz',
        'GET /v1/version',
        'HEAD /v1/version',
        'POST /rpc',
        'POST /v1/metadata',
        'POST /v1/query',
        ...CONSOLE_ROUTES,
      ].sort(),
    );
    // Routes that do not exist must not be told apart from those that do without the secret.
    const unknown = [
      { path: '/v1/nothing', method: 'GET' },
      { path: '/v1/query', method: 'GET' },
      { path: '/healthz/', method: 'GET' },
      { path: '/v1/graphql', method: 'POST' },
      { path: '/v1/query', method: 'OPTIONS' },
    ];
    const wrongWays: Array<[string, Record<string, string>]> = [
      ['missing', {}],
      ['wrong', { 'x-hasura-admin-secret': WRONG_SECRETS[0]! }],
      ['wrong', { 'x-hasura-admin-secret': WRONG_SECRETS[1]! }],
      ['wrong', { authorization: `Bearer ${WRONG_SECRETS[0]}` }],
      ['wrong', { authorization: `Bearer ${WRONG_SECRETS[1]}` }],
      ['missing', { authorization: `Basic ${Buffer.from(`admin:${ADMIN_SECRET}`).toString('base64')}` }],
      ['missing', { 'x-hasura-role': 'admin' }],
    ];
    for (const { path, method } of [...routes, ...unknown]) {
      const body = method === 'POST' ? (bodyFor(path) ?? {}) : undefined;
      const send = (headers: Record<string, string>) =>
        callApi(daemon.url, path, { method: method as 'GET', ...(body === undefined ? {} : { body }), headers });
      if (path === '/healthz') {
        expect((await send({})).status, `${method} ${path}`).toBe(200);
        continue;
      }
      if (path.startsWith('/console')) {
        // The console's files hold no data and need no secret (its calls to the API do): they answer the
        // same without it, and say nothing a caller without the secret may not know.
        const answer = await send({});
        expect(answer.status, `${method} ${path}`).toBe(path.endsWith('*') ? 404 : 200);
        expect(leaks(answer.text)).toEqual([]);
        continue;
      }
      for (const [reason, headers] of wrongWays) {
        const answer: ApiAnswer = await send(headers);
        expect(answer.status, `${method} ${path} ${JSON.stringify(Object.keys(headers))} (${reason})`).toBe(401);
        if (method !== 'HEAD') {
          expect(answer.json.code).toBe('access-denied');
          expect(leaks(answer.text)).toEqual([]);
        }
        refused.push(reason);
      }
      const known = routes.some((r) => r.path === path && r.method === method);
      for (const headers of [admin, { authorization: `Bearer ${ADMIN_SECRET}` }]) {
        const answer = await send(headers);
        expect(answer.status, `${method} ${path} with the secret`).toBe(known ? 200 : 404);
        expect(leaks(answer.text)).toEqual([]);
      }
    }
    expect((await callApi(daemon.url, '/healthz?verbose=1')).status).toBe(200);
  });

  test('each refusal is logged with its path and reason, never with the secret or the value sent', async () => {
    const refusals = () => daemon.lines.filter((l) => l.includes('"msg":"request refused"'));
    // The last lines may still be on their way through the pipe.
    await eventually(() => refusals().length >= refused.length, 5000, 'every refusal logged');
    await new Promise((r) => setTimeout(r, 200));
    const lines = refusals();
    expect(lines).toHaveLength(refused.length);
    for (const line of lines) {
      const entry = JSON.parse(line);
      expect(entry.level).toBe(40);
      expect(entry.path).toMatch(/^\//);
      expect(entry.reason).toMatch(/^(missing|wrong) admin secret$/);
      expect(leaks(line)).toEqual([]);
    }
    expect(lines.map((l) => JSON.parse(l).reason.split(' ')[0])).toEqual(refused);
  });

  test("a web page's cross-site request is refused with 403 even with the secret, and logged without it", async () => {
    const before = daemon.lines.length;
    const sent: Array<Record<string, string>> = [
      { ...admin, origin: 'http://evil.example' },
      { authorization: `Bearer ${WRONG_SECRETS[1]}`, 'sec-fetch-site': 'cross-site' },
    ];
    for (const headers of sent) {
      const answer = await callApi(daemon.url, '/v1/metadata', { body: bodyFor('/v1/metadata'), headers });
      expect(answer.status).toBe(403);
      expect(answer.json).toMatchObject({ path: '$', code: 'access-denied' });
      expect(leaks(answer.text)).toEqual([]);
    }
    const refusals = () => daemon.lines.slice(before).filter((l) => l.includes('"msg":"request refused"'));
    await eventually(() => refusals().length >= 2, 5000, 'both refusals logged');
    expect(refusals().map((l) => JSON.parse(l).reason)).toEqual([
      'cross-origin request (Origin "http://evil.example")',
      'cross-site request (Sec-Fetch-Site "cross-site")',
    ]);
    for (const line of refusals()) expect(leaks(line)).toEqual([]);
  });
});

describe('secrets from the environment', () => {
  test('reach the webhook, but never the catalog, the invocation logs, the API answers or the log output', async () => {
    const headers = [
      { name: 'X-Api-Key', value_from_env: 'HOOK_SECRET_HEADER' },
      { name: 'Authorization', value_from_env: 'HOOK_SECRET_HEADER' },
      { name: 'X-Visible', value: 'not-a-secret' },
    ];
    await database.pool.query('create table public.secret_items (id int primary key, note text)');
    await database.pool.query('create table public.secret_dead_items (id int primary key)');
    // Attempts per event: a 500, a reset, then a 200.
    webhook.respondWith((req) => {
      const retry = req.json.delivery_info.current_retry as number;
      return retry === 0
        ? { status: 500, body: '{"error":"try again"}' }
        : retry === 1
          ? { reset: true }
          : { status: 200, body: '{"ok":true}' };
    });
    await query(
      daemon.url,
      'create_event_trigger',
      {
        name: 'secret_hook',
        table: { schema: 'public', name: 'secret_items' },
        webhook_from_env: 'HOOK_URL',
        headers,
        insert: { columns: '*' },
        retry_conf: { num_retries: 2, interval_sec: 0, timeout_sec: 5 },
        signing_secret: { value_from_env: 'HOOK_SIGNING_SECRET' },
      },
      admin,
    );
    // Nothing listens at this URL: every attempt is a connection error, and the event ends in error.
    await callApi(daemon.url, '/v1/metadata', {
      headers: admin,
      body: {
        type: 'pg_create_event_trigger',
        args: {
          name: 'secret_dead',
          source: 'default',
          table: { schema: 'public', name: 'secret_dead_items' },
          webhook_from_env: 'DEAD_HOOK_URL',
          headers,
          insert: { columns: '*' },
          retry_conf: { num_retries: 1, interval_sec: 0, timeout_sec: 5 },
        },
      },
    }).then((a) => expect(a.status, a.text).toBe(200));

    await database.pool.query(`insert into public.secret_items values (1, 'a'), (2, 'b')`);
    await database.pool.query('insert into public.secret_dead_items values (1)');
    const settled = async () => {
      const { rows } = await database.pool.query(
        `select trigger_name, delivered, error, tries from ${SCHEMA}.event_log order by trigger_name, created_at`,
      );
      return rows;
    };
    await eventually(async () => (await settled()).every((r) => r.delivered || r.error), 20_000, 'events settled');
    expect(await settled()).toEqual([
      { trigger_name: 'secret_dead', delivered: false, error: true, tries: 2 },
      { trigger_name: 'secret_hook', delivered: true, error: false, tries: 3 },
      { trigger_name: 'secret_hook', delivered: true, error: false, tries: 3 },
    ]);

    // The webhook got the real values: the header from the environment, at the URL from the environment.
    expect(webhook.requests).toHaveLength(6);
    for (const req of webhook.requests) {
      expect(req.headers['x-api-key']).toBe(HEADER_VALUE);
      expect(req.headers.authorization).toBe(HEADER_VALUE);
      expect(req.headers['x-visible']).toBe('not-a-secret');
      expect(req.path).toBe(`/hooks/${URL_TOKEN}?sig=${URL_TOKEN}`);
      expect(new Webhook(`whsec_${SIGNING_KEY}`).verify(req.text, req.headers as Record<string, string>)).toMatchObject({
        id: req.json.id,
      });
    }

    // The invocation logs: one per attempt, failures included, env-sourced headers by name only.
    const { rows: logs } = await database.pool.query(
      `select trigger_name, status, request, response, request::text || response::text as text from ${SCHEMA}.event_invocation_logs`,
    );
    expect(logs).toHaveLength(8);
    expect(logs.filter((l) => l.status === null)).toHaveLength(4); // 2 resets, 2 refused connections
    expect(logs.filter((l) => l.status === 500)).toHaveLength(2);
    for (const log of logs) {
      // As in Hasura's logs: the default headers first, then the trigger's as defined.
      // secret_hook signs its requests: the signature headers are listed, never the key.
      const signature =
        log.trigger_name === 'secret_hook'
          ? [
              { name: 'webhook-id', value: expect.any(String) },
              { name: 'webhook-timestamp', value: expect.stringMatching(/^\d+$/) },
              { name: 'webhook-signature', value: expect.stringMatching(/^v1,/) },
            ]
          : [];
      expect(log.request.headers).toEqual([
        { name: 'Content-Type', value: 'application/json' },
        { name: 'User-Agent', value: expect.stringMatching(/^pg-event-triggers\//) },
        ...headers,
        ...signature,
      ]);
      expect(leaks(log.text)).toEqual([]);
    }
    expect(logs.filter((l) => l.trigger_name === 'secret_dead').map((l) => l.response.data.message)).toEqual([
      expect.stringMatching(/ECONNREFUSED/),
      expect.stringMatching(/ECONNREFUSED/),
    ]);

    // Nowhere in the catalog: every row of every table in its schema.
    const { rows: tables } = await database.pool.query(
      `select table_name from information_schema.tables where table_schema = $1 order by 1`,
      [SCHEMA],
    );
    expect(tables.map((t) => t.table_name)).toEqual(expect.arrayContaining(['event_invocation_logs', 'event_log', 'event_triggers']));
    for (const { table_name } of tables) {
      const { rows } = await database.pool.query(`select coalesce(string_agg(t::text, E'\\n'), '') as dump from ${SCHEMA}.${table_name} t`);
      expect(leaks(rows[0].dump), table_name).toEqual([]);
    }

    // Nowhere in what the API answers, over each transport.
    const { rows: events } = await database.pool.query(`select id from ${SCHEMA}.event_log`);
    const answers: ApiAnswer[] = [];
    for (const name of ['secret_hook', 'secret_dead']) {
      answers.push(await callApi(daemon.url, '/v1/query', { headers: admin, body: { type: 'get_event_invocation_logs', args: { name } } }));
      answers.push(
        await callApi(daemon.url, '/v1/metadata', {
          headers: admin,
          body: { type: 'pg_get_event_invocation_logs', args: { name, source: 'default' } },
        }),
      );
      answers.push(
        await callApi(daemon.url, '/rpc', {
          headers: admin,
          body: { jsonrpc: '2.0', id: 1, method: 'get_event_invocation_logs', params: { name } },
        }),
      );
      answers.push(await callApi(daemon.url, '/v1/query', { headers: admin, body: { type: 'get_event_logs', args: { name } } }));
    }
    for (const { id } of events) {
      answers.push(await callApi(daemon.url, '/v1/query', { headers: admin, body: { type: 'get_event_by_id', args: { event_id: id } } }));
    }
    for (const answer of answers) {
      expect(answer.status, answer.text).toBe(200);
      expect(leaks(answer.text)).toEqual([]);
    }
    // They did answer with the logs, env-sourced headers named.
    expect(answers[0]!.json).toHaveLength(6);
    expect(answers[0]!.text).toMatch(/"value_from_env":\s*"HOOK_SECRET_HEADER"/);
    expect(answers[2]!.json.result).toHaveLength(6);

    // And never in the log output, from start to exit, at the most verbose level.
    const exit = await daemon.kill('SIGTERM');
    expect(exit.code).toBe(0);
    const output = daemon.lines.join('\n');
    expect(daemon.lines.length).toBeGreaterThan(5);
    expect(daemon.lines.some((l) => l.includes('"msg":"pg-event-triggers stopped"'))).toBe(true);
    expect(leaks(output)).toEqual([]);
  });
});
