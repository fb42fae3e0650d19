/**
 * Request transforms end to end: a real daemon, a real PostgreSQL, a real webhook. A trigger with a
 * request_transform delivers the transformed method, URL, query, headers and body; the invocation log
 * records that request; a template that fails on an event is a failed attempt with a clear message,
 * retried per retry_conf like any other, and the daemon delivers on.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { eventually, openTestDatabase, startTestDaemon, type DaemonHarness } from '../support/daemonHarness.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhookReceiver.js';

let database: Awaited<ReturnType<typeof openTestDatabase>>;
let daemon: DaemonHarness;
let hook: WebhookReceiver;

beforeAll(async () => {
  database = await openTestDatabase();
  hook = await startWebhookReceiver();
  daemon = await startTestDaemon(database.db.url, { processEnv: { API_TOKEN: 'from-the-environment' } });
});
afterAll(async () => {
  await daemon?.stop();
  await hook?.close();
  await database?.close();
});

let n = 0;
let table: string;
beforeEach(async () => {
  n += 1;
  table = `orders_${n}`;
  await database.pool.query(`create table public.${table} (id bigint primary key, customer text, total numeric)`);
  hook.requests.length = 0;
  hook.respondWith(() => ({ status: 200, body: '{"ok":true}' }));
});

async function createTrigger(args: Record<string, unknown>) {
  await daemon.query('create_event_trigger', {
    name: `t_${n}`,
    table,
    webhook: hook.url,
    insert: { columns: '*' },
    headers: [
      { name: 'Authorization', value_from_env: 'API_TOKEN' },
      { name: 'X-Dropped', value: 'dropped' },
    ],
    ...args,
  });
}

async function invocationLogs(eventId: string) {
  const { rows } = await database.pool.query(
    'select status, request, request::jsonb::text as request_text, response from event_triggers.event_invocation_logs where event_id = $1 order by created_at',
    [eventId],
  );
  return rows as Array<{ status: number | null; request: any; request_text: string; response: any }>;
}

async function eventIdOf(rowId: string): Promise<string> {
  const id = await eventually(async () => {
    const { rows } = await database.pool.query(
      "select id from event_triggers.event_log where trigger_name = $1 and payload->'data'->'new'->>'id' = $2",
      [`t_${n}`, rowId],
    );
    return rows[0]?.id as string | undefined;
  });
  return id!;
}

describe('a trigger with a request_transform', () => {
  test('delivers the transformed method, URL, query, headers and body; the log records what was sent', async () => {
    await createTrigger({
      request_transform: {
        version: 2,
        method: 'PUT',
        url: '{{$base_url}}/orders/{{$body.event.data.new.id}}',
        query_params: { customer: '{{$body.event.data.new.customer}}', op: '{{$body.event.op}}' },
        request_headers: {
          add_headers: { 'X-Order-Id': '{{$body.event.data.new.id}}', 'X-Role': '{{ getSessionVariable("x-hasura-role") }}' },
          remove_headers: ['x-dropped'],
        },
        body: {
          action: 'transform',
          template: '{"order": {{$body.event.data.new.id}}, "total": {{$body.event.data.new.total}}, "who": {{$session_variables}}}',
        },
      },
    });
    const client = await database.pool.connect();
    try {
      await client.query('begin');
      await client.query(`set local "hasura.user" = '{"x-hasura-role": "clerk", "X-Hasura-User-Id": "7"}'`);
      await client.query(`insert into public.${table} values (50755254975729665, 'ann & bob', 12.50)`);
      await client.query('commit');
    } finally {
      client.release();
    }
    const [received] = await hook.waitForRequests(1);
    expect(received!.method).toBe('PUT');
    // The catalog keeps the definition as jsonb, which orders object keys its own way (Hasura's order is a
    // hash map's): the parameters are all there, percent-encoded, in some order.
    const [path, query] = received!.path.split('?');
    expect(path).toBe('/hook/orders/50755254975729665');
    expect(query!.split('&').sort()).toEqual(['customer=ann%20%26%20bob', 'op=INSERT']);
    expect(received!.headers).toMatchObject({
      'content-type': 'application/json',
      authorization: 'from-the-environment',
      'x-order-id': '50755254975729665',
      'x-role': 'clerk',
    });
    expect(received!.headers['x-dropped']).toBeUndefined();
    expect(received!.text).toBe('{"order":50755254975729665,"total":12.50,"who":{"x-hasura-role":"clerk","x-hasura-user-id":"7"}}');

    const eventId = await eventIdOf('50755254975729665');
    const logs = (await eventually(async () => {
      const rows = await invocationLogs(eventId);
      return rows.length ? rows : undefined;
    }))!;
    expect(logs[0]!.status).toBe(200);
    expect(logs[0]!.request).toMatchObject({ method: 'PUT', version: '2', payload: { who: { 'x-hasura-role': 'clerk' } } });
    expect(logs[0]!.request_text).toContain('"order": 50755254975729665');
    // The headers as defined, edited by the transform: the environment's value never appears.
    const logged = logs[0]!.request.headers as Array<{ name: string }>;
    expect(logged.slice(0, 3)).toEqual([
      { name: 'Content-Type', value: 'application/json' },
      { name: 'User-Agent', value: expect.stringMatching(/^pg-event-triggers\//) },
      { name: 'Authorization', value_from_env: 'API_TOKEN' },
    ]);
    expect(logged.slice(3).sort((a, b) => a.name.localeCompare(b.name))).toEqual([
      { name: 'X-Order-Id', value: '50755254975729665' },
      { name: 'X-Role', value: 'clerk' },
    ]);
    expect(JSON.stringify(logs[0]!.request)).not.toContain('from-the-environment');
  });

  test('a form body with its content type; the older name transform', async () => {
    await createTrigger({
      transform: {
        version: 2,
        body: {
          action: 'x_www_form_urlencoded',
          form_template: { id: '{{$body.event.data.new.id}}', customer: '{{$body.event.data.new.customer}}' },
        },
        request_headers: { add_headers: { 'Content-Type': 'application/x-www-form-urlencoded' } },
      },
    });
    await database.pool.query(`insert into public.${table} values (1, 'zoë', 1)`);
    const [received] = await hook.waitForRequests(1);
    expect(received!.method).toBe('POST');
    expect(received!.path).toBe('/hook');
    expect(received!.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(received!.text).toBe('id=1&customer=zo%C3%AB');
    const logs = (await eventually(async () => {
      const rows = await invocationLogs(await eventIdOf('1'));
      return rows.length ? rows : undefined;
    }))!;
    expect(logs[0]!.request.payload).toBe('id=1&customer=zo%C3%AB');
  });

  test('a template that fails on an event is a failed attempt, retried, with the error in the log; other events go on', async () => {
    await createTrigger({
      retry_conf: { num_retries: 1, interval_sec: 0 },
      request_transform: { version: 2, body: { action: 'transform', template: '{"first": {{ head($body.event.data.new.customer) }}}' } },
    });
    // head("") fails; head("ann") does not.
    await database.pool.query(`insert into public.${table} values (1, '', 1), (2, 'ann', 2)`);
    const [received] = await hook.waitForRequests(1);
    expect(received!.text).toBe('{"first":"a"}');

    const failed = await eventIdOf('1');
    const { rows } = (await eventually(async () => {
      const result = await database.pool.query('select tries, error, delivered from event_triggers.event_log where id = $1', [failed]);
      return result.rows[0]?.error ? result : undefined;
    }))!;
    expect(rows[0]).toMatchObject({ tries: 2, error: true, delivered: false });
    const logs = await invocationLogs(failed);
    expect(logs).toHaveLength(2);
    expect(logs[0]!.status).toBeNull();
    expect(logs[0]!.response).toEqual({
      type: 'client_error',
      data: {
        message: 'request transform failed: request_transform.body.template: Function Error at line 1, column 19: Empty string',
      },
      version: '2',
    });
    // The request as it would have gone without the transform.
    expect(logs[0]!.request.payload.event.data.new).toEqual({ id: 1, customer: '', total: 1 });
    expect(hook.requests).toHaveLength(1);
  });
});
