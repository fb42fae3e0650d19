/**
 * What Hasura's event-trigger tests (server/tests-py/test_events.py in hasura/graphql-engine) lean on,
 * rebuilt over this project's real parts: their webhook server (EvtsWebhookServer: / answers 200,
 * /fail 500, /sleep_2s after two seconds, /block until unblocked, every request queued in order), their
 * check_event, and rows written the way Hasura's own mutations write them (with "hasura.user" set).
 */
import type pg from 'pg';
import { expect } from 'vitest';
import { startWebhookReceiver, type ReceivedRequest, type WebhookReceiver } from '../support/webhookReceiver.js';

/** Hasura's mutations run as admin unless the request says otherwise: the session the tests expect. */
export const ADMIN_SESSION = { 'x-hasura-role': 'admin' };

export interface HasuraWebhook {
  /** http://127.0.0.1:<port>, as EVENT_WEBHOOK_HANDLER (no trailing slash). */
  base: string;
  receiver: WebhookReceiver;
  /** The next request not yet taken (Hasura's evts_webhook.get_event). */
  next(timeoutMs?: number): Promise<ReceivedRequest>;
  /** Requests not yet taken. */
  untaken(): number;
  /** Takes every request that came so far: a test starts with an empty queue, as Hasura's do. */
  drain(): void;
  /** Requests to /block wait until this is called. */
  unblock(): void;
  close(): Promise<void>;
}

export async function startHasuraWebhook(): Promise<HasuraWebhook> {
  const receiver = await startWebhookReceiver('');
  let taken = 0;
  let unblock: () => void = () => undefined;
  const blocked = new Promise<void>((resolve) => (unblock = resolve));
  receiver.respondWith(async (req) => {
    if (req.path.startsWith('/fail')) return { status: 500, body: '{"error":"fail"}' };
    if (req.path.startsWith('/sleep_2s')) return { status: 200, body: '{}', delayMs: 2000 };
    if (req.path.startsWith('/block')) await blocked;
    return { status: 200, body: '{"ok":true}' };
  });
  return {
    base: receiver.url.replace(/\/$/, ''),
    receiver,
    async next(timeoutMs = 10_000) {
      await receiver.waitForRequests(taken + 1, timeoutMs);
      return receiver.requests[taken++]!;
    },
    untaken: () => receiver.requests.length - taken,
    drain() {
      taken = receiver.requests.length;
    },
    unblock: () => unblock(),
    close: () => receiver.close(),
  };
}

/**
 * Writes as Hasura's insert/update/delete mutations do: in one transaction that sets "hasura.user" to
 * the session variables (the x-hasura-* request headers, lower-cased; admin when there are none).
 */
export async function write(pool: pg.Pool, sql: string, values: unknown[] = [], headers: Record<string, string> = ADMIN_SESSION) {
  const session = Object.fromEntries(
    Object.entries(headers)
      .filter(([name]) => name.toLowerCase().startsWith('x-hasura-'))
      .map(([name, value]) => [name.toLowerCase(), value]),
  );
  const client = await pool.connect();
  try {
    await client.query('begin');
    await client.query(`select set_config('hasura.user', $1, true)`, [JSON.stringify(session)]);
    await client.query(sql, values);
    await client.query('commit');
  } catch (error) {
    await client.query('rollback');
    throw error;
  } finally {
    client.release();
  }
}

export interface ExpectedEvent {
  trigger: string;
  table: { schema: string; name: string };
  op: string;
  data: { old: unknown; new: unknown };
  headers?: Record<string, string>;
  webhookPath?: string;
  sessionVariables?: Record<string, string>;
  /** delivery_info.current_retry */
  retry?: number;
}

/** Hasura's check_event (validate.py): the next event is the one expected, as the webhook received it. */
export async function checkEvent(webhook: HasuraWebhook, expected: ExpectedEvent, timeoutMs?: number): Promise<ReceivedRequest> {
  const ev = await webhook.next(timeoutMs);
  expect(ev.path).toBe(expected.webhookPath ?? '/');
  for (const [name, value] of Object.entries(expected.headers ?? {})) expect(ev.headers[name.toLowerCase()], name).toBe(value);
  const body = ev.json;
  for (const key of ['created_at', 'event', 'id', 'table', 'trigger']) expect(body, key).toHaveProperty(key);
  expect(body.table).toEqual(expected.table);
  expect(body.trigger.name).toBe(expected.trigger);
  expect(body.event.op).toBe(expected.op);
  expect(body.event.session_variables).toEqual(expected.sessionVariables ?? ADMIN_SESSION);
  expect(body.event.data).toEqual(expected.data);
  if (expected.retry !== undefined) expect(body.delivery_info.current_retry).toBe(expected.retry);
  return ev;
}

/**
 * Hasura's `with pytest.raises(queue.Empty): check_event(...)`: the trigger has captured `seenSoFar`
 * events, so the write just made captured none. Read from the event log, where capture writes in the
 * writer's transaction: no waiting involved. A stray delivery would also show as the wrong event at the
 * test's next check_event.
 */
export async function expectCaptured(pool: pg.Pool, trigger: string, seenSoFar: number): Promise<void> {
  // Events of earlier triggers of the same name were archived when those were deleted.
  const { rows } = await pool.query(`select count(*)::int as n from event_triggers.event_log where trigger_name = $1 and not archived`, [
    trigger,
  ]);
  expect(rows[0].n, `events of ${trigger}`).toBe(seenSoFar);
}
