/**
 * The wake lock's connection gone silent (half-open: no FIN, no RST, no answer). Connections go through a
 * TCP proxy that silences the wake lock's only. Letting the lock go is awaited by the busy fetch loop and
 * by drain; an unlock that is never answered must time out and drop the connection, rather than stall
 * them until the OS gives up on the socket (minutes; the proxy's kernel even answers keepalive probes, so
 * here it would be forever).
 */
import { pino } from 'pino';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { migrate } from '../../src/db/migrate.js';
import { WakeLock } from '../../src/delivery/wakeLock.js';
import { eventually, openTestDatabase, startTestDaemon } from '../support/daemonHarness.js';
import { startTcpProxy, type TcpProxy } from '../support/tcpProxy.js';

let database: Awaited<ReturnType<typeof openTestDatabase>>;
let proxy: TcpProxy;

beforeAll(async () => {
  database = await openTestDatabase();
  await migrate(database.pool, 'event_triggers');
  proxy = await startTcpProxy(database.db.url);
});
afterAll(async () => {
  await proxy?.close();
  await database?.close();
});

/** Sessions holding the wake lock, by application_name. */
async function wakeLockHolders(): Promise<number> {
  const { rows } = await database.pool.query(`
    select count(*)::int as n from pg_locks l join pg_stat_activity a on a.pid = l.pid
    where l.locktype = 'advisory' and l.classid = event_triggers.wake_lock_class()::oid and l.objid = 0
      and l.mode = 'ExclusiveLock' and l.granted and a.application_name = 'pg-event-triggers wake'
      and l.database = (select oid from pg_database where datname = current_database())`);
  return rows[0].n;
}

/** Fails after ms instead of waiting for ever: the failure this file guards against is a hang. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what}: still waiting after ${ms} ms`)), ms)),
  ]);
}

test('letting the lock go over a silent connection times out, drops it, and the lock is taken again later', async () => {
  const granted: number[] = [];
  const lock = new WakeLock({
    connectionString: proxy.url,
    schema: 'event_triggers',
    log: pino({ level: 'silent' }),
    onLost: () => undefined,
  });
  try {
    lock.request(() => granted.push(Date.now()));
    await eventually(() => lock.state === 'held', 10_000, 'the wake lock held');
    const [connection] = proxy.byApplication('pg-event-triggers wake');
    connection!.silence();

    await within(lock.letGo(), 15_000, 'letGo() on a silent connection');
    expect(lock.state).toBe('free');
    await eventually(() => connection!.clientClosed, 5_000, 'the silent connection dropped by the client');

    // The server still has the old session, lock included, until it notices: a new request waits for it
    // (meanwhile capture sends NOTIFY). Once that session is gone, the lock is granted on a new connection.
    lock.request(() => granted.push(Date.now()));
    await eventually(() => proxy.byApplication('pg-event-triggers wake').length === 2, 10_000, 'a new wake connection');
    connection!.destroy();
    await eventually(() => lock.state === 'held', 10_000, 'the wake lock held again');
    expect(granted).toHaveLength(2);
    expect(await wakeLockHolders()).toBe(1);
  } finally {
    await lock.close();
  }
});

test('a daemon whose wake-lock connection went silent still drains and stops', async () => {
  const earlier = new Set(proxy.connections);
  const daemon = await startTestDaemon(proxy.url, { env: { EVENTS_FETCH_INTERVAL: '60000' } });
  let stopped = false;
  try {
    await eventually(async () => (await wakeLockHolders()) === 1, 10_000, 'the quiet daemon holds the wake lock');
    const wake = proxy.byApplication('pg-event-triggers wake').filter((c) => !earlier.has(c));
    expect(wake).toHaveLength(1);
    wake[0]!.silence();
    await within(daemon.stop(), 20_000, 'stopping the daemon');
    stopped = true;
    expect(wake[0]!.clientClosed).toBe(true);
  } finally {
    if (!stopped) void daemon.stop();
  }
});
