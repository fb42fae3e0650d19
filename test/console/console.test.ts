/**
 * The web console end to end, in a real browser (headless Chromium through playwright-core), against a
 * whole daemon with an admin secret, a real PostgreSQL and a real webhook on 127.0.0.1. What a user does
 * is what the test does: sign in, read the counts, find a failed event and redeliver it, invoke, create a
 * trigger through a form that shows the API's errors. The screenshots of docs/console.md are taken here,
 * so they show the console as it is.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { callApi } from '../support/daemonApi.js';
import { eventually, openTestDatabase, startTestDaemon, type DaemonHarness } from '../support/daemonHarness.js';
import { launchBrowser, type Browser } from '../support/browser.js';
import { checkConsoleBuilt } from '../support/consoleBuild.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhookReceiver.js';

const SECRET = 'console-test-secret';
const SCREENSHOTS = path.resolve(import.meta.dirname, '../../docs/console');

let database: Awaited<ReturnType<typeof openTestDatabase>>;
let daemon: DaemonHarness;
let hook: WebhookReceiver;
let browser: Browser;
let page: Page;
let base: string;
/** Whether the webhook's /flaky path fails (500) or succeeds. */
let flakyFails = true;

/** POST /v1/query with the admin secret; the parsed answer, or a thrown error. */
async function api(type: string, args: unknown): Promise<any> {
  const res = await callApi(base, '/v1/query', { body: { type, args }, headers: { 'x-hasura-admin-secret': SECRET } });
  if (res.status !== 200) throw new Error(`${type} answered ${res.status}: ${res.text}`);
  return res.json;
}

async function counts(name: string) {
  const answer = await api('get_event_triggers', { name });
  return answer.triggers[0].counts as Record<string, number>;
}

const screenshot = (name: string) => page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`) });

/** The page has no horizontal scroll: nothing is wider than the window. */
async function expectNoHorizontalOverflow() {
  // Evaluated in the page (this file is compiled without the DOM's types: expressions go as text).
  const { scroll, client } = await page.evaluate<{ scroll: number; client: number }>(
    '({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth })',
  );
  expect(scroll, 'the page scrolls sideways').toBeLessThanOrEqual(client);
}

/**
 * What a screen reader or keyboard user needs of every view: one h1; every control with a label; every
 * button and link with a name; every image (the chart) with a name. Returns the problems found.
 */
const AUDIT = `(() => {
  const problems = [];
  const visible = (el) => el.getClientRects().length > 0;
  const name = (el) => (el.getAttribute('aria-label') || el.textContent || el.getAttribute('title') || '').trim();
  const h1s = [...document.querySelectorAll('h1')].filter(visible);
  if (h1s.length !== 1) problems.push(h1s.length + ' visible h1');
  for (const el of document.querySelectorAll('input, select, textarea')) {
    if (!visible(el) || el.type === 'hidden') continue;
    if (el.labels.length === 0 && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby')) problems.push('unlabelled ' + el.outerHTML.slice(0, 80));
  }
  for (const el of document.querySelectorAll('button, a[href]')) {
    if (visible(el) && name(el) === '') problems.push('nameless ' + el.outerHTML.slice(0, 80));
  }
  for (const el of document.querySelectorAll('[role=img]')) {
    const labelled = (el.getAttribute('aria-labelledby') || '').split(' ').map((id) => document.getElementById(id)).filter(Boolean);
    if (!el.getAttribute('aria-label') && labelled.length === 0) problems.push('nameless image');
  }
  return problems;
})()`;

async function expectAccessible(view: string) {
  expect(await page.evaluate<string[]>(AUDIT), view).toEqual([]);
}

beforeAll(async () => {
  await checkConsoleBuilt();
  await mkdir(SCREENSHOTS, { recursive: true });
  database = await openTestDatabase();
  await database.pool.query('create table public.orders (id bigint primary key, note text)');
  hook = await startWebhookReceiver();
  hook.respondWith((req) =>
    req.path === '/flaky' && flakyFails ? { status: 500, body: '{"error":"the shop is closed"}' } : { status: 200, body: '{"ok":true}' },
  );
  daemon = await startTestDaemon(database.db.url, { env: { ADMIN_SECRET: SECRET, HOST: '127.0.0.1' } });
  base = daemon.daemon.url;
  const origin = new URL(hook.url).origin;
  const trigger = (name: string, webhook: string, retry: Record<string, number>) =>
    api('create_event_trigger', { name, table: 'orders', webhook, insert: { columns: '*' }, retry_conf: retry });
  await trigger('orders_sync', `${origin}/sync`, { num_retries: 0 });
  await trigger('orders_flaky', `${origin}/flaky`, { num_retries: 0 });
  // Refused at once, retried in an hour: its events stay pending (retrying) for the whole file.
  await trigger('orders_parked', 'http://127.0.0.1:9/nothing', { num_retries: 3, interval_sec: 3600 });
  await database.pool.query(`insert into orders values (1, 'one'), (2, 'two'), (3, 'three')`);
  await eventually(
    async () => {
      const [sync, flaky, parked] = await Promise.all(['orders_sync', 'orders_flaky', 'orders_parked'].map(counts));
      return sync!.delivered === 3 && flaky!.failed === 3 && parked!.retrying === 3;
    },
    20_000,
    'the events to settle',
  );
  browser = await launchBrowser();
  page = await browser.context.newPage();
  // A step that does not happen fails in seconds, not at the test's timeout.
  page.setDefaultTimeout(10_000);
  // Script errors and what the browser refused (a Content-Security-Policy violation says so here). The
  // API's error answers (401 at sign-in, 400 for a refused form) are logged by the browser as failed
  // loads: those are expected.
  page.on('pageerror', (error) => pageErrors.push(`${error.name}: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) pageErrors.push(message.text());
  });
});

const pageErrors: string[] = [];

afterAll(async () => {
  await browser?.close();
  await daemon?.stop();
  await hook?.close();
  await database?.close();
  expect(pageErrors, 'errors in the page').toEqual([]);
});

describe('the console', () => {
  test('asks for the admin secret, refuses a wrong one, and signs in with the right one', async () => {
    await page.goto(`${base}/console`);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await page.getByLabel('Admin secret').fill('not-the-secret');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toBe('That admin secret is wrong.');
    expect(await page.getByLabel('Admin secret').getAttribute('aria-invalid')).toBe('true');
    await expectAccessible('sign-in');
    // By keyboard: Enter in the field signs in.
    await page.getByLabel('Admin secret').fill(SECRET);
    await page.getByLabel('Admin secret').press('Enter');
    await page.getByRole('heading', { name: 'Event triggers' }).waitFor();
    expect(await page.evaluate("sessionStorage.getItem('pg-event-triggers:admin-secret')")).toBe(SECRET);
  });

  test('lists the triggers with their counts and the last hour', async () => {
    const row = (name: string) => page.locator(`tr[data-trigger="${name}"]`);
    await row('orders_flaky').waitFor();
    const cell = (name: string, count: string) => row(name).locator(`td[data-count="${count}"]`).textContent();
    expect(await cell('orders_flaky', 'failed')).toBe('3');
    expect(await cell('orders_flaky', 'pending')).toBe('0');
    expect(await cell('orders_sync', 'delivered')).toBe('3');
    expect(await cell('orders_sync', 'failed')).toBe('0');
    expect(await cell('orders_parked', 'pending')).toBe('33 retrying');
    expect(await row('orders_parked').textContent()).toContain('3 × 3600 s');
    await screenshot('triggers');
    const glance = page.getByRole('list', { name: 'At a glance' });
    expect(await glance.textContent()).toContain('3 pending, 3 of them retrying');
    expect(await glance.textContent()).toContain('3 failed in orders_flaky');
    // The chart counts the attempts so far: 3 delivered (sync), 3 + 3 failed (flaky, parked).
    const chart = page.getByRole('img', { name: 'Attempts per minute, all triggers, last hour' });
    await chart.waitFor();
    expect(await chart.locator('desc').textContent()).toContain('3 delivered and 6 failed attempts in the last 60 minutes');
    await expectNoHorizontalOverflow();
    await expectAccessible('triggers');
    await screenshot('triggers');
  });

  test('finds a failed event, redelivers it, and watches it delivered at the webhook without a reload', async () => {
    await page.locator('tr[data-trigger="orders_flaky"] td[data-count="failed"] a').click();
    await page.getByRole('heading', { name: 'orders_flaky' }).waitFor();
    expect(await page.getByRole('tab', { name: 'Processed' }).getAttribute('aria-selected')).toBe('true');
    expect(await page.getByLabel('Status').inputValue()).toBe('error');
    const rows = page.locator('table.events tbody tr');
    await expect.poll(() => rows.count()).toBe(3);
    await expectAccessible('trigger');
    await screenshot('trigger');
    // The tabs follow the arrow keys; the panel shows the attempts, the three failed ones among them.
    await page.getByRole('tab', { name: 'Processed' }).focus();
    await page.keyboard.press('ArrowRight');
    expect(await page.getByRole('tab', { name: 'Invocation logs' }).getAttribute('aria-selected')).toBe('true');
    expect(await page.evaluate('document.activeElement?.textContent')).toBe('Invocation logs');
    await expect.poll(() => page.locator('table.invocations tbody tr').count()).toBe(3);
    expect(await page.locator('table.invocations tbody tr').first().textContent()).toContain('500');
    await page.keyboard.press('ArrowLeft');
    await expect.poll(() => rows.count()).toBe(3);

    const eventId = (await rows.first().getAttribute('data-event'))!;
    await rows
      .first()
      .getByRole('link', { name: `Event ${eventId}` })
      .click();
    await page.getByTestId('event-status').getByText('failed').waitFor();
    expect(await page.getByTestId('event-tries').textContent()).toBe('1 of 1');
    // A reload would drop this mark: the page must update itself.
    await page.evaluate('window.stillHere = true');
    flakyFails = false;
    const before = hook.requests.filter((r) => r.json?.id === eventId).length;
    await page.getByRole('button', { name: 'Redeliver' }).click();
    await page.getByTestId('event-status').getByText('delivered').waitFor({ timeout: 15_000 });
    expect(await page.evaluate('window.stillHere')).toBe(true);
    const delivered = hook.requests.filter((r) => r.json?.id === eventId);
    expect(delivered.length).toBe(before + 1);
    expect(delivered.at(-1)!.path).toBe('/flaky');
    await page.getByText('Redelivered: the webhook accepted it.').waitFor();
    await expectAccessible('event');
    // Both attempts are listed, the newest (200) open.
    expect(await page.locator('ol.attempts > li').count()).toBe(2);
    expect(await page.locator('ol.attempts > li').first().locator(':scope > details > summary').textContent()).toContain('HTTP 200');
    await page.screenshot({ path: path.join(SCREENSHOTS, 'event.png'), fullPage: true });
    expect((await counts('orders_flaky')).failed).toBe(2);
  });

  test('retries a waiting event now, from the list of pending ones', async () => {
    await page.goto(`${base}/console#/triggers/orders_parked`);
    const rows = page.locator('table.events tbody tr');
    await expect.poll(() => rows.count()).toBe(3);
    const eventId = (await rows.first().getAttribute('data-event'))!;
    await rows
      .first()
      .getByRole('button', { name: `Retry now: event ${eventId}` })
      .click();
    await page
      .getByRole('tabpanel')
      .getByText(`Event ${eventId.slice(0, 8)} will be delivered again`)
      .waitFor();
    // Tried again at once (port 9 still refuses): a second attempt, and waiting for its retry once more.
    await eventually(
      async () => (await api('get_event_by_id', { event_id: eventId })).invocations.length === 2,
      10_000,
      'the second attempt',
    );
  });

  test('invokes a trigger with a JSON payload, every digit kept', async () => {
    await page.goto(`${base}/console#/triggers/orders_sync/invoke`);
    await page.getByRole('heading', { name: 'Invoke orders_sync' }).waitFor();
    await page.getByLabel('Payload (JSON)').fill('{"id": 50755254975729665, "note": "by hand"}');
    await page.getByRole('button', { name: 'Invoke' }).click();
    const link = page.getByTestId('invoked-event');
    await link.waitFor();
    const eventId = (await link.textContent())!;
    const received = await eventually(() => hook.requests.find((r) => r.json?.id === eventId), 10_000, 'the invoked event at the webhook');
    expect(received!.text).toContain('"new": {"id": 50755254975729665, "note": "by hand"}');
    expect(received!.json.event.op).toBe('MANUAL');
    // Not JSON: said next to the field, nothing sent.
    await page.getByLabel('Payload (JSON)').fill('{"id": ');
    await page.getByRole('button', { name: 'Invoke' }).click();
    await page.locator('#invoke-payload-error').getByText('Not valid JSON').waitFor();
    await expectAccessible('invoke');
  });

  test('creates a trigger through the form, showing the API errors next to their fields', async () => {
    await page.goto(`${base}/console#/new`);
    await page.getByRole('heading', { name: 'New event trigger' }).waitFor();
    await page.getByLabel('Name', { exact: true }).fill('orders_audit');
    await page.getByLabel('Table', { exact: true }).fill('orderz');
    await page.getByLabel('Webhook URL').fill('not a url');
    await page.getByRole('button', { name: 'Create trigger' }).click();
    // parse-failed at $.args.webhook: under the webhook field, which gets focus.
    await expect.poll(() => page.locator('#webhook-error').textContent()).toContain('webhook must be an absolute http:// or https:// URL');
    expect(await page.getByLabel('Webhook URL').getAttribute('aria-invalid')).toBe('true');
    expect(await page.evaluate('document.activeElement?.id')).toBe('webhook');
    expect(await page.locator('#webhook-error').isVisible()).toBe(true);
    expect(await page.getByLabel('Webhook URL').getAttribute('aria-describedby')).toContain('webhook-error');
    await expectAccessible('form');
    await page.screenshot({ path: path.join(SCREENSHOTS, 'form-error.png'), fullPage: true });

    // not-exists at $.args: the message names the table, so it goes to the table's fieldset.
    await page.getByLabel('Webhook URL').fill(`${new URL(hook.url).origin}/audit`);
    await page.getByRole('button', { name: 'Create trigger' }).click();
    const tableError = page.locator('fieldset[data-path="$.args.table"] > .field-error');
    await expect.poll(() => tableError.textContent()).toBe('table "public.orderz" does not exist');
    expect(await page.locator('#webhook-error').isHidden()).toBe(true);

    await page.getByLabel('Table', { exact: true }).fill('orders');
    await page.getByRole('button', { name: 'Create trigger' }).click();
    await page.getByRole('heading', { name: 'orders_audit' }).waitFor();
    await page.getByText('Created orders_audit: it captures from now on.').waitFor();
    const created = (await api('get_event_triggers', { name: 'orders_audit' })).triggers[0];
    expect(created.definition).toMatchObject({
      webhook: `${new URL(hook.url).origin}/audit`,
      insert: { columns: '*' },
      enable_manual: true,
    });
  });

  test('edits a trigger (the API refusing a value first), then deletes it after asking', async () => {
    await page.getByRole('link', { name: 'Edit' }).click();
    await page.getByRole('heading', { name: 'Edit orders_audit' }).waitFor();
    expect(await page.getByLabel('Name', { exact: true }).isDisabled()).toBe(true);
    await page.getByLabel('Retries', { exact: true }).fill('-1');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await expect.poll(() => page.locator('#retry-num-error').textContent()).toBe('must not be negative');
    await page.getByLabel('Retries', { exact: true }).fill('2');
    await page.getByLabel('Seconds between').fill('30');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByText('Saved orders_audit.').waitFor();
    await page.getByText('2 retries every 30 s, timeout 60 s').waitFor();
    expect((await api('get_event_triggers', { name: 'orders_audit' })).triggers[0].definition.retry_conf).toEqual({
      num_retries: 2,
      interval_sec: 30,
      timeout_sec: 60,
    });

    await page.getByRole('button', { name: 'Delete' }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete orders_audit?' });
    await dialog.waitFor();
    // Cancel (focused first) keeps it; Delete trigger deletes it.
    expect(await page.evaluate('document.activeElement?.textContent')).toBe('Cancel');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    await page.getByRole('button', { name: 'Delete' }).click();
    await dialog.getByRole('button', { name: 'Delete trigger' }).click();
    await page.getByText('Deleted the event trigger orders_audit.').waitFor();
    await page.getByRole('heading', { name: 'Event triggers' }).waitFor();
    expect(await page.locator('tr[data-trigger="orders_audit"]').count()).toBe(0);
    const after = await callApi(base, '/v1/query', {
      body: { type: 'get_event_triggers', args: { name: 'orders_audit' } },
      headers: { 'x-hasura-admin-secret': SECRET },
    });
    expect(after.json.code).toBe('not-exists');
    // The circuit column is there exactly when the daemon has flow control (get_flow_control_state).
    const flow = await callApi(base, '/v1/query', {
      body: { type: 'get_flow_control_state', args: {} },
      headers: { 'x-hasura-admin-secret': SECRET },
    });
    const circuit = page.getByRole('columnheader', { name: 'Circuit' });
    if (flow.status === 200) {
      await circuit.waitFor();
      const state = flow.json.triggers.find((t: { name: string }) => t.name === 'orders_sync').circuit.state as string;
      expect(await page.locator('tr[data-trigger="orders_sync"] .circuit').textContent()).toContain(state.replace('_', ' '));
    } else {
      expect(flow.json.error).toBe('unknown operation type "get_flow_control_state"');
      expect(await circuit.count()).toBe(0);
    }
  });
});

describe('layout', () => {
  const LONG_NAME = `a${'very_long_trigger_name_'.repeat(2)}`.slice(0, 42);
  const LONG_TABLE = `t${'_a_table_name_that_goes_on'.repeat(3)}`.slice(0, 63);

  beforeAll(async () => {
    // Signed in whether or not the tests above ran (-t runs this one alone).
    await page.goto(`${base}/console`);
    await page.evaluate(`sessionStorage.setItem('pg-event-triggers:admin-secret', ${JSON.stringify(SECRET)})`);
    await page.reload();
    await database.pool.query(`create table public.${LONG_TABLE} (id bigint primary key, blob text)`);
    await api('create_event_trigger', {
      name: LONG_NAME,
      table: LONG_TABLE,
      webhook: `${new URL(hook.url).origin}/${'a-long-path-segment/'.repeat(15)}hook`,
      insert: { columns: '*' },
      headers: [{ name: `X-${'Long-Header-Name-'.repeat(4)}End`, value: 'v'.repeat(300) }],
    });
  });

  test('long names and a 1 MB payload neither widen the page nor bury it', async () => {
    const blob = 'x'.repeat(1_000_000);
    const { event_id: eventId } = await api('invoke_event_trigger', { name: LONG_NAME, payload: { blob } });
    await page.goto(`${base}/console#/`);
    await page.locator(`tr[data-trigger="${LONG_NAME}"]`).waitFor();
    await expectNoHorizontalOverflow();
    await page.goto(`${base}/console#/triggers/${LONG_NAME}?tab=processed`);
    await page.getByRole('heading', { name: LONG_NAME }).waitFor();
    await expect.poll(() => page.locator('table.events tbody tr').count()).toBe(1);
    await expectNoHorizontalOverflow();

    await page.goto(`${base}/console#/events/${eventId}`);
    const payload = page.getByRole('region', { name: 'Payload' }).or(page.locator('pre[aria-label="Payload"]'));
    const showAll = page.getByRole('button', { name: /^Show all \(1\.0 MB\)$/ });
    await showAll.first().waitFor();
    const shown = await page.locator('pre[aria-label="Payload"]').evaluate((el) => el.textContent.length);
    expect(shown).toBe(20_000);
    await expectNoHorizontalOverflow();
    // The block scrolls inside itself: the attempts below stay within reach.
    const box = await page.locator('pre[aria-label="Payload"]').boundingBox();
    expect(box!.height).toBeLessThanOrEqual(768 * 0.6 + 1);
    await showAll.first().click();
    const all = await page.locator('pre[aria-label="Payload"]').evaluate((el) => el.textContent.length);
    expect(all).toBeGreaterThan(1_000_000);
    await expectNoHorizontalOverflow();
    expect(await payload.count()).toBeGreaterThan(0);
  });
});
