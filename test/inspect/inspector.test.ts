/**
 * `--inspect`: the daemon serves the Stately inspector relay and streams its actors to it. A receiver
 * connected to the relay (as the inspector page is) sees the event machine's snapshots.
 */
import { createWebSocketReceiver, type StatelyInspectionEvent } from '@statelyai/inspect';
import { networkInterfaces } from 'node:os';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { request } from 'undici';
import { startInspector } from '../../src/inspect/inspector.js';
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
  type Snapshot = { value: unknown; context?: { triggerName?: string; eventId?: string } };
  const snapshots = () => seen.flatMap((e) => (e.type === '@xstate.snapshot' ? [e.snapshot as unknown as Snapshot] : []));

  // Warm-up: events of a trigger of their own, until the receiver sees one, so that the relay is known
  // to stream to it before the event under test is captured (a fixed sleep used to stand for this).
  await database.pool.query('create table warmup (id int primary key)');
  await daemon.query('create_event_trigger', { name: 'warmup', table: 'warmup', webhook: hook.url, insert: { columns: '*' } });
  let warmups = 0;
  await eventually(
    async () => {
      await database.pool.query('insert into warmup values ($1)', [++warmups]);
      await new Promise((r) => setTimeout(r, 200));
      return snapshots().some((s) => s.context?.triggerName === 'warmup');
    },
    15_000,
    'the receiver streaming from the relay',
  );

  await database.pool.query('create table watched (id int primary key)');
  await daemon.query('create_event_trigger', { name: 'watched', table: 'watched', webhook: hook.url, insert: { columns: '*' } });
  await database.pool.query('insert into watched values (1)');
  const delivered = await eventually(
    () => hook.requests.find((r) => r.json.trigger.name === 'watched'),
    10_000,
    'the watched event delivered',
  );
  const eventId = delivered!.json.id as string;

  // Every state of the watched event's actor reached the inspector, up to delivered.
  const values = await eventually(
    () => {
      const mine = snapshots()
        .filter((snapshot) => snapshot.context?.eventId === eventId)
        .map((snapshot) => JSON.stringify(snapshot.value));
      return mine.includes('"delivered"') ? mine : undefined;
    },
    10_000,
    'the event actor reaching delivered in the inspector',
  );
  expect(values).toContain('{"delivering":"calling"}');
  expect(values).toContain('{"delivering":"recording"}');
  // Each event's actor is named after the event it carries.
  expect(seen.some((e) => e.type === '@xstate.actor' && String(e.name) === `event:${eventId}`)).toBe(true);
  expect(seen.some((e) => e.type === '@xstate.event' && (e.event as { type: string }).type === 'WEBHOOK_RESPONDED')).toBe(true);
});

describe('where the relay listens', () => {
  /** This machine's first address other than loopback, if it has one. */
  const outward = Object.values(networkInterfaces())
    .flat()
    .find((i) => i && !i.internal && i.family === 'IPv4')?.address;

  const capture = () => {
    const lines: Array<{ level: number; msg: string }> = [];
    const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    return { log, lines };
  };
  const answers = (host: string, port: number) =>
    request(`http://${host}:${port}/`, { headersTimeout: 2000 }).then(
      async (res) => (await res.body.text(), res.statusCode),
      (error: NodeJS.ErrnoException) => error.code,
    );

  test.skipIf(!outward)('loopback by default: not reachable from another address; a wider INSPECT_HOST is warned about', async () => {
    const quiet = capture();
    const local = await startInspector({ host: '127.0.0.1', port: 0, log: quiet.log });
    try {
      const port = Number(new URL(local.url).port);
      expect(await answers('127.0.0.1', port)).toBe(200);
      expect(await answers(outward!, port)).toBe('ECONNREFUSED');
      expect(quiet.lines.map((l) => l.level)).toEqual([30]);
    } finally {
      await local.close();
    }

    const loud = capture();
    const wide = await startInspector({ host: '0.0.0.0', port: 0, log: loud.log });
    try {
      expect(await answers(outward!, Number(new URL(wide.url).port))).toBe(200);
      expect(loud.lines).toEqual([
        expect.objectContaining({
          level: 40,
          msg: expect.stringMatching(/INSPECT_HOST=0\.0\.0\.0: the relay is reachable beyond this machine, without authentication/),
        }),
      ]);
    } finally {
      await wide.close();
    }
  });

  test('a port in use is one clear error', async () => {
    const first = await startInspector({ host: '127.0.0.1', port: 0, log: capture().log });
    try {
      const port = Number(new URL(first.url).port);
      await expect(startInspector({ host: '127.0.0.1', port, log: capture().log })).rejects.toThrow(
        `the inspector relay cannot listen on 127.0.0.1:${port} (EADDRINUSE)`,
      );
    } finally {
      await first.close();
    }
  });
});
