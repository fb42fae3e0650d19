/**
 * Signed deliveries and trace propagation, checked as a receiver would check them: every request is
 * verified with the official `standardwebhooks` package, over the exact bytes received, including a
 * rotated pair of secrets. First the webhook client against a real receiver, then a whole daemon: a row
 * written with a trace context reaches the webhook signed and with its traceparent.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { TriggerDefinition } from '../../src/catalog/definition.js';
import { resolveTrigger } from '../../src/catalog/triggerRegistry.js';
import { WebhookClient, type ClaimedEvent, type WebhookOutcome } from '../../src/delivery/webhookClient.js';
import { eventually, openTestDatabase, startTestDaemon } from '../support/daemonHarness.js';
import { startWebhookReceiver, type ReceivedRequest, type WebhookReceiver } from '../support/webhookReceiver.js';

const newSecret = () => `whsec_${randomBytes(32).toString('base64')}`;
const OLD = newSecret();
const NEW = newSecret();

let hook: WebhookReceiver;
let client: WebhookClient;

beforeAll(async () => {
  hook = await startWebhookReceiver();
  client = new WebhookClient({ connections: 4, responseBodyLimit: 65_536 });
});
afterAll(async () => {
  await client?.close();
  await hook?.close();
});

function triggerWith(extra: Partial<TriggerDefinition>, env: NodeJS.ProcessEnv = {}) {
  const resolved = resolveTrigger(
    randomUUID(),
    {
      name: 'signed',
      table: { schema: 'public', name: 'items' },
      webhook: hook.url,
      headers: [{ name: 'X-Static', value: 'static' }],
      retry_conf: { num_retries: 3, interval_sec: 1, timeout_sec: 10 },
      trigger_on_replication: false,
      ...extra,
    },
    env,
  );
  expect(resolved.problem).toBeUndefined();
  return resolved;
}

const event = (traceContext: unknown = null): ClaimedEvent => ({
  id: randomUUID(),
  schema_name: 'public',
  table_name: 'items',
  trigger_name: 'signed',
  tries: 0,
  created_at: '2026-01-01T00:00:00.000000Z',
  payload: `{"op":"INSERT","data":{"old":null,"new":{"id":1,"name":"é ✓"}},"trace_context":${JSON.stringify(traceContext)}}`,
  retry_in_ms: 0,
  redeliveries: 0,
  trace_context: JSON.stringify(traceContext),
});

/** Delivers one attempt and returns what the receiver got, with the outcome. */
async function deliver(e: ClaimedEvent, trigger: ReturnType<typeof triggerWith>, currentRetry = 0) {
  const seen = hook.requests.length;
  const outcome = (await client.start(e, trigger, currentRetry).done) as WebhookOutcome;
  expect(outcome.ok).toBe(true);
  const [req] = (await hook.waitForRequests(seen + 1)).slice(seen);
  return { req: req!, outcome };
}

/** What standardwebhooks makes of a request: the parsed body, or the error it throws. */
function verify(secret: string, req: ReceivedRequest): unknown {
  try {
    return new Webhook(secret).verify(req.text, req.headers as Record<string, string>);
  } catch (error) {
    return error;
  }
}

describe('signing (Standard Webhooks)', () => {
  test('each attempt is signed over the exact body; every secret of a rotated pair verifies it, another does not', async () => {
    const trigger = triggerWith({ signing_secret: { value: `${OLD} ${NEW}` } });
    const e = event();
    const first = await deliver(e, trigger, 0);
    const retry = await deliver(e, trigger, 1);
    for (const { req } of [first, retry]) {
      expect(verify(OLD, req)).toMatchObject({ id: e.id });
      expect(verify(NEW, req)).toMatchObject({ id: e.id });
      expect(verify(newSecret(), req)).toBeInstanceOf(Error);
      // The receiver would not accept a body changed by a single byte.
      expect(verify(NEW, { ...req, text: req.text.replace('✓', '✗') })).toBeInstanceOf(Error);
      expect(req.headers['webhook-id']).toBe(e.id);
      expect(Math.abs(Number(req.headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(60);
      expect(String(req.headers['webhook-signature']).split(' ')).toHaveLength(2);
      expect(req.headers['x-static']).toBe('static');
    }
    // webhook-id stays the event's on a retry, so receivers can deduplicate; the bodies differ (current_retry).
    expect(retry.req.headers['webhook-id']).toBe(first.req.headers['webhook-id']);
    expect(retry.req.text).not.toBe(first.req.text);
  });

  test('with a request transform, the signature is over the transformed body that was sent', async () => {
    const trigger = triggerWith({
      signing_secret: { value: NEW },
      request_transform: {
        version: 2,
        template_engine: 'Kriti',
        body: { action: 'transform', template: '{"n": {{$body.event.data.new.id}}}' },
      },
    });
    expect(trigger.transform).toBeDefined();
    const { req } = await deliver(event(), trigger);
    expect(req.text).toBe('{"n":1}');
    expect(verify(NEW, req)).toEqual({ n: 1 });
  });

  test('the invocation log lists the headers sent, never the secret', async () => {
    const trigger = triggerWith({ signing_secret: { value: NEW } });
    const { req, outcome } = await deliver(event(), trigger);
    const logged = JSON.parse(outcome.log!.request) as { headers: Array<{ name: string; value: string }> };
    expect(logged.headers.map((h) => h.name)).toEqual([
      'Content-Type',
      'User-Agent',
      'X-Static',
      'webhook-id',
      'webhook-timestamp',
      'webhook-signature',
    ]);
    expect(logged.headers.find((h) => h.name === 'webhook-signature')?.value).toBe(req.headers['webhook-signature']);
    const secretBody = NEW.slice('whsec_'.length);
    expect(outcome.log!.request).not.toContain(secretBody);
    expect(outcome.log!.response).not.toContain(secretBody);
  });

  test('a secret from the environment signs as the same value would', async () => {
    const trigger = triggerWith({ signing_secret: { value_from_env: 'HOOK_SECRET' } }, { HOOK_SECRET: NEW });
    const { req } = await deliver(event(), trigger);
    expect(verify(NEW, req)).toMatchObject({ event: { op: 'INSERT' } });
  });

  test('a secret that cannot be had stops the trigger here rather than sending unsigned', () => {
    const missing = resolveTrigger(randomUUID(), { ...triggerWith({}).definition, signing_secret: { value_from_env: 'NOT_SET' } }, {});
    expect(missing.problem).toBe('environment variable "NOT_SET" (the signing_secret of event trigger "signed") is not set');
    expect(missing.target).toBeUndefined();
    const malformed = resolveTrigger(
      randomUUID(),
      { ...triggerWith({}).definition, signing_secret: { value_from_env: 'BAD' } },
      { BAD: 'hunter2' },
    );
    expect(malformed.problem).toMatch(
      /^environment variable "BAD" \(the signing_secret of event trigger "signed"\): the secret must start with "whsec_"/,
    );
    expect(malformed.problem).not.toContain('hunter2');
  });

  test('an unsigned trigger sends no Standard Webhooks headers', async () => {
    const { req } = await deliver(event(), triggerWith({}));
    expect(req.headers['webhook-signature']).toBeUndefined();
    expect(req.headers['webhook-id']).toBeUndefined();
  });
});

describe('trace propagation', () => {
  const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
  const SPAN = '00f067aa0ba902b7';

  test.each([
    ['W3C', { traceparent: `00-${TRACE}-${SPAN}-01`, tracestate: 'congo=t61rcWkgMzE' }, `00-${TRACE}-${SPAN}-01`, 'congo=t61rcWkgMzE'],
    ["Hasura's, sampled", { trace_id: TRACE, span_id: SPAN, sampling_state: '1' }, `00-${TRACE}-${SPAN}-01`, undefined],
    [
      "Hasura's, 64-bit, undecided",
      { trace_id: 'a3ce929d0e0e4736', span_id: SPAN },
      `00-0000000000000000a3ce929d0e0e4736-${SPAN}-00`,
      undefined,
    ],
    [
      'W3C with a tracestate that would split the header',
      { traceparent: `00-${TRACE}-${SPAN}-00`, tracestate: 'a=1\r\nx-evil: 1' },
      `00-${TRACE}-${SPAN}-00`,
      undefined,
    ],
    ['an all-zero trace id', { traceparent: `00-${'0'.repeat(32)}-${SPAN}-01` }, undefined, undefined],
    ['a malformed traceparent', { traceparent: `00-${TRACE}-${SPAN}` }, undefined, undefined],
    ['a string', 'not an object', undefined, undefined],
    ['none', null, undefined, undefined],
  ])('trace_context %s', async (_, traceContext, traceparent, tracestate) => {
    const { req, outcome } = await deliver(event(traceContext), triggerWith({}));
    expect(req.headers.traceparent).toBe(traceparent);
    expect(req.headers.tracestate).toBe(tracestate);
    expect(req.headers['x-evil']).toBeUndefined();
    const logged = (JSON.parse(outcome.log!.request) as { headers: Array<{ name: string }> }).headers.map((h) => h.name);
    expect(logged.includes('traceparent')).toBe(traceparent !== undefined);
  });
});

test('end to end: a row written with a trace context reaches the webhook signed and with its traceparent', async () => {
  const database = await openTestDatabase();
  const daemon = await startTestDaemon(database.db.url, { processEnv: { HOOK_SECRET: `${OLD} ${NEW}` } });
  try {
    await database.pool.query('create table public.items (id bigint primary key, name text)');
    const res = await daemon.query('create_event_trigger', {
      name: 'signed',
      table: 'items',
      webhook: hook.url,
      insert: { columns: '*' },
      signing_secret: { value_from_env: 'HOOK_SECRET' },
    });
    expect(res).toEqual({ message: 'success' });
    const seen = hook.requests.length;
    const writer = await database.pool.connect();
    try {
      await writer.query('begin');
      await writer.query(
        `set local "hasura.tracecontext" = '{"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "span_id": "00f067aa0ba902b7", "sampling_state": "1"}'`,
      );
      await writer.query("insert into items values (1, 'ann')");
      await writer.query('commit');
    } finally {
      writer.release();
    }
    const [req] = (await hook.waitForRequests(seen + 1)).slice(seen);
    expect(verify(NEW, req!)).toMatchObject({ event: { op: 'INSERT', data: { new: { id: 1, name: 'ann' } } } });
    expect(verify(OLD, req!)).toMatchObject({ id: req!.headers['webhook-id'] });
    expect(req!.headers.traceparent).toBe('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01');
    const logged = await eventually(async () => {
      const { rows } = await database.pool.query<{ request: string }>('select request::text from event_triggers.event_invocation_logs');
      return rows[0]?.request;
    });
    for (const secret of [OLD, NEW]) expect(logged).not.toContain(secret.slice('whsec_'.length));
  } finally {
    await daemon.stop();
    await database.close();
  }
});
