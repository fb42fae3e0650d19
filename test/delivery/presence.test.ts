/**
 * Presence (src/delivery/presence.ts) against a real PostgreSQL: a daemon whose row another daemon
 * forgot (its heartbeat lapsed during a stall) registers again instead of living on as a ghost whose
 * claims everyone takes over; a presence connection gone silent (half-open) is replaced before the
 * heartbeat lapses.
 */
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { migrate } from '../../src/db/migrate.js';
import { Presence } from '../../src/delivery/presence.js';
import { deliveryStatements } from '../../src/sql/deliveryStatements.js';
import { eventually, openTestDatabase, startTestDaemon, type DaemonHarness } from '../support/daemonHarness.js';
import { startTcpProxy } from '../support/tcpProxy.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhookReceiver.js';

let database: Awaited<ReturnType<typeof openTestDatabase>>;
let daemon: DaemonHarness;
let hook: WebhookReceiver;

beforeAll(async () => {
  database = await openTestDatabase();
  hook = await startWebhookReceiver();
  daemon = await startTestDaemon(database.db.url);
  await database.pool.query('create table ghosts (id int primary key)');
  await daemon.query('create_event_trigger', { name: 'ghosts', table: 'ghosts', webhook: hook.url, insert: { columns: '*' } });
});
afterAll(async () => {
  hook?.release();
  await daemon?.stop();
  await hook?.close();
  await database?.close();
});

/** Whether the instance has a row, and is alive by the catalog's own rule (heartbeat and lock). */
async function alive(instanceId: string): Promise<boolean> {
  const { rows } = await database.pool.query(
    `select event_triggers.instance_alive(lock_key, heartbeat_at, 3000) as alive from event_triggers.instances where id = $1`,
    [instanceId],
  );
  return rows[0]?.alive === true;
}

test('a daemon whose instance row was forgotten registers again, and what it claims is not taken over', async () => {
  const id = daemon.daemon.instanceId;
  await eventually(() => alive(id), 10_000, 'the daemon registered');
  // What another daemon's forgetGoneInstances does once this one's heartbeat has lapsed.
  await database.pool.query('delete from event_triggers.instances where id = $1', [id]);
  await eventually(() => alive(id), 10_000, 'the daemon registered again');

  hook.hold();
  await database.pool.query('insert into ghosts values (1)');
  await hook.waitForRequests(1);
  // Another daemon's takeover finds nothing to take: the holder is alive.
  const takeOver = deliveryStatements('event_triggers').takeOver;
  const taken = await database.pool.query({ ...takeOver, values: [randomUUID(), 3000, 100] });
  expect(taken.rows).toEqual([]);
  hook.release();
  await eventually(
    async () => {
      const { rows } = await database.pool.query('select delivered from event_triggers.event_log');
      return rows[0]?.delivered === true;
    },
    10_000,
    'the event delivered and recorded by the daemon that claimed it',
  );
});

test('a presence connection gone silent is replaced, and the heartbeat goes on', async () => {
  const other = await openTestDatabase();
  const proxy = await startTcpProxy(other.db.url);
  await migrate(other.pool, 'event_triggers');
  const instanceId = randomUUID();
  const presence = new Presence({
    connectionString: proxy.url,
    schema: 'event_triggers',
    instanceId,
    heartbeatTimeoutMs: 3000,
    log: pino({ level: 'silent' }),
  });
  try {
    await presence.start();
    const [first] = proxy.byApplication('pg-event-triggers presence');
    const { rows } = await other.pool.query('select now() as at');
    first!.silence();
    // Without a statement timeout the heartbeat would wait on the silent socket until the OS gives up.
    await eventually(
      async () => {
        const beat = await other.pool.query('select heartbeat_at > $2 as fresh from event_triggers.instances where id = $1', [
          instanceId,
          rows[0].at,
        ]);
        return proxy.byApplication('pg-event-triggers presence').length === 2 && beat.rows[0]?.fresh === true;
      },
      20_000,
      'a new presence connection beating',
    );
    expect(first!.clientClosed).toBe(true);
  } finally {
    await presence.stop();
    await proxy.close();
    await other.close();
  }
});
