/**
 * Environment templates, as in Hasura: `webhook` ("{{EVENT_BASE}}/orders", InputWebhook) and header
 * `value`s ("Bearer {{TOKEN}}", HVValue Template). The definition keeps the template; it is resolved at
 * create (a missing variable is invalid-configuration, naming it), at boot (the daemon refuses to start,
 * naming it) and on every reload; the resolved values are never stored, answered or logged.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startApi, type ApiHarness } from '../support/apiHarness.js';
import { catalogSnapshot } from '../support/catalogSnapshot.js';
import { eventually, openTestDatabase, startTestDaemon } from '../support/daemonHarness.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhookReceiver.js';

const TOKEN = 'tpl-secret-token-7f3a';

describe('create_event_trigger', () => {
  let api: ApiHarness;
  beforeAll(async () => {
    api = await startApi({ env: { EVENT_BASE: 'http://127.0.0.1:9', TOKEN, NOT_A_URL: 'ftp://files.invalid/x', EMPTY: '' } });
    await api.pool.query('create table public.orders (id int primary key)');
  });
  afterAll(() => api?.close());

  const args = (extra: Record<string, unknown>) => ({ name: 'tpl', table: 'orders', insert: { columns: '*' }, ...extra });

  test('accepts a templated webhook and header value, and stores the templates as given', async () => {
    const res = await api.query(
      'create_event_trigger',
      args({ webhook: '{{EVENT_BASE}}/orders', headers: [{ name: 'Authorization', value: 'Bearer {{TOKEN}}' }] }),
    );
    expect(res.json).toEqual({ message: 'success' });
    const { rows } = await api.pool.query(`select definition::text as d from event_triggers.event_triggers where name = 'tpl'`);
    expect(JSON.parse(rows[0].d)).toMatchObject({
      webhook: '{{EVENT_BASE}}/orders',
      headers: [{ name: 'Authorization', value: 'Bearer {{TOKEN}}' }],
    });
    expect(rows[0].d).not.toContain(TOKEN);
    expect(rows[0].d).not.toContain('127.0.0.1:9');
    await api.query('delete_event_trigger', { name: 'tpl' });
  });

  const refusals: Array<[string, Record<string, unknown>, { code: string; path: string; error: RegExp }]> = [
    [
      'a webhook variable that is not set',
      { webhook: '{{MISSING_BASE}}/orders' },
      {
        code: 'invalid-configuration',
        path: '$.args',
        error: /^environment variable "MISSING_BASE" in the webhook of event trigger "tpl" is not set$/,
      },
    ],
    [
      'every variable that is not set, named once',
      { webhook: '{{A_GONE}}/{{B_GONE}}/{{A_GONE}}' },
      { code: 'invalid-configuration', path: '$.args', error: /"A_GONE" in the webhook .*; environment variable "B_GONE" in the webhook/ },
    ],
    [
      'a webhook that does not resolve to an http(s) URL (the value is not shown)',
      { webhook: '{{NOT_A_URL}}' },
      {
        code: 'invalid-configuration',
        path: '$.args',
        error: /^the webhook of event trigger "tpl" \("\{\{NOT_A_URL\}\}"\) does not resolve to an absolute http\(s\) URL$/,
      },
    ],
    [
      'a webhook variable set to the empty string (set, as in Hasura, but no URL)',
      { webhook: '{{EMPTY}}/orders' },
      { code: 'invalid-configuration', path: '$.args', error: /does not resolve to an absolute http\(s\) URL/ },
    ],
    [
      'a header variable that is not set',
      { webhook: '{{EVENT_BASE}}/orders', headers: [{ name: 'X-Key', value: 'k={{NO_KEY}}' }] },
      {
        code: 'invalid-configuration',
        path: '$.args',
        error: /^environment variable "NO_KEY" in header "X-Key" of event trigger "tpl" is not set$/,
      },
    ],
    [
      'an unclosed "{{" in the webhook',
      { webhook: '{{EVENT_BASE/orders' },
      { code: 'parse-failed', path: '$.args.webhook', error: /without a closing "}}"/ },
    ],
    [
      'an empty "{{}}" in the webhook',
      { webhook: 'http://x/{{}}' },
      { code: 'parse-failed', path: '$.args.webhook', error: /names no environment variable/ },
    ],
    [
      'an unclosed "{{" in a header value',
      { webhook: '{{EVENT_BASE}}/orders', headers: [{ name: 'X-Key', value: '{{TOKEN' }] },
      { code: 'parse-failed', path: '$.args.headers[0].value', error: /without a closing "}}"/ },
    ],
    ['a plain webhook that is no URL', { webhook: 'orders' }, { code: 'parse-failed', path: '$.args.webhook', error: /absolute http/ }],
  ];

  test.each(refusals)('refuses %s, changing nothing', async (_what, extra, expected) => {
    const before = await catalogSnapshot(api.pool);
    const res = await api.query('create_event_trigger', args(extra));
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ code: expected.code, path: expected.path });
    expect(res.json.error).toMatch(expected.error);
    for (const value of [TOKEN, 'ftp://files.invalid', '127.0.0.1:9']) expect(res.text).not.toContain(value);
    expect(await catalogSnapshot(api.pool)).toEqual(before);
  });
});

describe('delivery', () => {
  let database: Awaited<ReturnType<typeof openTestDatabase>>;
  let hook: WebhookReceiver;
  beforeAll(async () => {
    database = await openTestDatabase();
    hook = await startWebhookReceiver();
    await database.pool.query('create table public.orders (id int primary key)');
  });
  afterAll(async () => {
    await hook?.close();
    await database?.close();
  });

  const base = () => new URL(hook.url).origin;
  const definition = (name: string) => ({
    name,
    table: 'orders',
    webhook: '{{HOOK_BASE}}/orders/{{ORDERS_PATH}}',
    insert: { columns: '*' },
    headers: [{ name: 'Authorization', value: 'Bearer {{TOKEN}}' }],
  });

  test('calls the resolved URL with the resolved headers; the logs show only the templates', async () => {
    const env = { HOOK_BASE: base(), ORDERS_PATH: 'created', TOKEN };
    const daemon = await startTestDaemon(database.db.url, { processEnv: env });
    try {
      await daemon.query('create_event_trigger', definition('tpl_ok'));
      await database.pool.query('insert into orders values (1)');
      const [req] = await hook.waitForRequests(1);
      expect(req!.path).toBe('/orders/created');
      expect(req!.headers.authorization).toBe(`Bearer ${TOKEN}`);
      const logs = await eventually(
        async () => {
          const answer = await daemon.query('get_event_invocation_logs', { name: 'tpl_ok' });
          return answer.length ? answer : undefined;
        },
        10_000,
        'the invocation log',
      );
      expect(logs[0].request.headers).toEqual([
        { name: 'Content-Type', value: 'application/json' },
        { name: 'User-Agent', value: expect.stringMatching(/^pg-event-triggers\//) },
        { name: 'Authorization', value: 'Bearer {{TOKEN}}' },
      ]);
      // Nowhere in what the API answers, nor in the catalog: neither the token nor the resolved URL.
      const answers = [
        JSON.stringify(logs),
        JSON.stringify(await daemon.query('get_event_by_id', { event_id: logs[0].event_id })),
        JSON.stringify(await daemon.query('get_event_logs', { name: 'tpl_ok' })),
      ];
      const dump = await database.pool.query(
        `select (select string_agg(t::text, ' ') from event_triggers.event_triggers t) ||
                (select string_agg(l::text, ' ') from event_triggers.event_invocation_logs l) as text`,
      );
      for (const text of [...answers, dump.rows[0].text as string]) {
        expect(text).not.toContain(TOKEN);
        expect(text).not.toContain(base());
        expect(text).not.toContain('/orders/created');
      }
      await daemon.query('delete_event_trigger', { name: 'tpl_ok' });
    } finally {
      await daemon.stop();
    }
  });

  test('a daemon whose environment lacks a variable of a stored template refuses to start, naming it', async () => {
    const creator = await startTestDaemon(database.db.url, { processEnv: { HOOK_BASE: base(), ORDERS_PATH: 'x', TOKEN } });
    try {
      await creator.query('create_event_trigger', definition('tpl_boot'));
    } finally {
      await creator.stop();
    }
    try {
      await expect(startTestDaemon(database.db.url, { processEnv: { ORDERS_PATH: 'x' } })).rejects.toThrow(
        'environment variable "HOOK_BASE" in the webhook of event trigger "tpl_boot" is not set; ' +
          'environment variable "TOKEN" in header "Authorization" of event trigger "tpl_boot" is not set',
      );
      // And one whose variable holds no URL, without showing it.
      const notUrl = startTestDaemon(database.db.url, { processEnv: { HOOK_BASE: 'mailto:', ORDERS_PATH: 'x', TOKEN } });
      await expect(notUrl).rejects.toThrow(
        /the webhook of event trigger "tpl_boot" \("\{\{HOOK_BASE\}\}\/orders\/\{\{ORDERS_PATH\}\}"\) does not resolve/,
      );
    } finally {
      const cleaner = await startTestDaemon(database.db.url, { processEnv: { HOOK_BASE: base(), ORDERS_PATH: 'x', TOKEN } });
      await cleaner.query('delete_event_trigger', { name: 'tpl_boot' });
      await cleaner.stop();
    }
  });

  test('on reload, a daemon that cannot resolve a template records a client error naming the variable, and calls nothing', async () => {
    // This daemon starts before the trigger exists, so it boots, and meets the trigger on a reload.
    const lacking = await startTestDaemon(database.db.url, { processEnv: { ORDERS_PATH: 'x' } });
    try {
      const creator = await startTestDaemon(database.db.url, { processEnv: { HOOK_BASE: base(), ORDERS_PATH: 'x', TOKEN } });
      try {
        await creator.query('create_event_trigger', { ...definition('tpl_reload'), retry_conf: { num_retries: 0 } });
      } finally {
        await creator.stop();
      }
      hook.requests.length = 0;
      await database.pool.query('insert into orders values (2)');
      const logs = await eventually(
        async () => {
          const answer = await lacking.query('get_event_invocation_logs', { name: 'tpl_reload' });
          return answer.length ? answer : undefined;
        },
        10_000,
        'the failed attempt',
      );
      expect(logs[0]).toMatchObject({ http_status: null, response: { type: 'client_error' } });
      expect(logs[0].response.data.message).toBe(
        'environment variable "HOOK_BASE" in the webhook of event trigger "tpl_reload" is not set; ' +
          'environment variable "TOKEN" in header "Authorization" of event trigger "tpl_reload" is not set',
      );
      expect(hook.requests).toEqual([]);
      await lacking.query('delete_event_trigger', { name: 'tpl_reload' });
    } finally {
      await lacking.stop();
    }
  });
});
