/**
 * `--inspect`: the daemon serves the Stately inspector relay and streams its actors to it. A receiver
 * connected to the relay (as the inspector page is) sees the event machine's snapshots.
 */
import { createWebSocketReceiver, type StatelyInspectionEvent } from '@statelyai/inspect';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { request } from 'undici';
import { eventually, openTestDatabase, startTestDaemon, type DaemonHarness } from '../support/daemonHarness.js';
import { freePort } from '../support/ports.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhookReceiver.js';

let database: Awaited<ReturnType<typeof openTestDatabase>>;
let daemon: DaemonHarness;
let hook: WebhookReceiver;
let port: number;

beforeAll(async () => {
  database = await openTestDatabase();
  hook = await startWebhookReceiver();
  port = await freePort();
  daemon = await startTestDaemon(database.db.url, { env: { INSPECT_PORT: String(port) } });
});
afterAll(async () => {
  await daemon?.stop();
  await hook?.close();
  await database?.close();
});

test('the inspector relay streams the event machine of each event', async () => {
  const page = await request(`http://127.0.0.1:${port}/`);
  expect(page.statusCode).toBe(200);
  expect(await page.body.text()).toContain('stately.ai/inspect');

  const seen: StatelyInspectionEvent[] = [];
  const receiver = createWebSocketReceiver({ server: `ws://127.0.0.1:${port}` });
  receiver.subscribe((event) => void seen.push(event));
  await new Promise((r) => setTimeout(r, 300)); // let the receiver connect before events flow

  await database.pool.query('create table watched (id int primary key)');
  await daemon.query('create_event_trigger', { name: 'watched', table: 'watched', webhook: hook.url, insert: { columns: '*' } });
  await database.pool.query('insert into watched values (1)');
  await hook.waitForRequests(1);

  const snapshots = await eventually(() => {
    const values = seen
      .flatMap((e) => (e.type === '@xstate.snapshot' ? [e.snapshot as unknown as { value: unknown; context?: { triggerName?: string } }] : []))
      .filter((snapshot) => snapshot.context?.triggerName === 'watched')
      .map((snapshot) => JSON.stringify(snapshot.value));
    return values.includes('"delivered"') ? values : undefined;
  }, 10_000, 'the event actor reaching delivered in the inspector');
  expect(snapshots).toContain('{"delivering":"calling"}');
  expect(snapshots).toContain('{"delivering":"recording"}');
  // Each event's actor is named after the event it carries.
  expect(seen.some((e) => e.type === '@xstate.actor' && String(e.name).startsWith('event:'))).toBe(true);
  expect(seen.some((e) => e.type === '@xstate.event' && (e.event as { type: string }).type === 'WEBHOOK_RESPONDED')).toBe(true);
});
