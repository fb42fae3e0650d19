/**
 * Two, then three daemons on one database, one of them killed (SIGKILL) mid-run: the events it held are
 * taken over by the survivors once its heartbeat has lapsed, and not before; every event is delivered;
 * duplicates only among the events the killed daemon had in flight (at most its HTTP pool). Just before
 * the kill it is frozen (SIGSTOP), so that what it holds can be read exactly, before anyone may take it.
 *
 * A killed daemon's session, and the presence lock it held, end with it, so its heartbeat counts as
 * lapsed a third of HEARTBEAT_TIMEOUT_MS after its last beat (instance_alive in the catalog migration;
 * docs/delivery.md). Each daemon sends its name in a header (value_from_env), so the webhook knows which
 * daemon delivered what.
 */
import { afterEach, expect, test } from 'vitest';
import { eventually, openTestDatabase } from '../support/daemonHarness.js';
import { spawnDaemon, type DaemonProcess } from '../support/daemonProcess.js';
import {
  apiQuery,
  arrivalsById,
  duplicateArrivals,
  duplicatedIds,
  eventLogCounts,
  eventLogIds,
  freeze,
  instanceIdOf,
  sleep,
  tail,
} from '../support/reliability.js';
import { startWebhookReceiver, type ReceivedRequest } from '../support/webhookReceiver.js';

const POOL = 16;
const TOTAL = 5000;
const BULK = 4000;
const HEARTBEAT_TIMEOUT_MS = 6000;
/** A killed daemon counts as gone this long after its last heartbeat. */
const LAPSE_MS = HEARTBEAT_TIMEOUT_MS / 3;
/** Survivors look for gone instances this often (the presence interval, a sixth of the timeout). */
const CHECK_MS = HEARTBEAT_TIMEOUT_MS / 6;

let cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const step of cleanup.reverse()) await step().catch(() => undefined);
  cleanup = [];
});

const sender = (r: ReceivedRequest) => String(r.headers['x-daemon']);

test.each([2, 3])(
  '%i daemons, one killed mid-run: its events are taken over after its heartbeat lapses',
  async (n) => {
    const started = Date.now();
    const database = await openTestDatabase();
    cleanup.push(() => database.close());
    const hook = await startWebhookReceiver();
    cleanup.push(() => hook.close());
    hook.respondWith(() => ({ status: 200, delayMs: 2 }));
    await database.pool.query('create table orders (id int primary key)');

    const names = Array.from({ length: n }, (_, i) => `daemon-${i + 1}`);
    const daemons: DaemonProcess[] = await Promise.all(
      names.map((name) =>
        spawnDaemon({
          DATABASE_URL: database.db.url,
          EVENTS_HTTP_POOL_SIZE: String(POOL),
          EVENTS_FETCH_BATCH_SIZE: '50',
          DB_POOL_SIZE: '4',
          HEARTBEAT_TIMEOUT_MS: String(HEARTBEAT_TIMEOUT_MS),
          DAEMON_NAME: name,
        }),
      ),
    );
    for (const d of daemons) cleanup.push(() => d.kill('SIGKILL'));
    await apiQuery(daemons[0]!.url, 'create_event_trigger', {
      name: 'orders',
      table: 'orders',
      webhook: hook.url,
      insert: { columns: '*' },
      headers: [{ name: 'X-Daemon', value_from_env: 'DAEMON_NAME' }],
      retry_conf: { num_retries: 3, interval_sec: 1, timeout_sec: 10 },
    });

    await database.pool.query('insert into orders select generate_series(1, $1::int)', [BULK]);
    const trickle = (async () => {
      for (let next = BULK + 1; next <= TOTAL; next += 100) {
        await database.pool.query('insert into orders select generate_series($1::int, $2::int)', [next, next + 99]);
        await sleep(100);
      }
    })();

    // The victim: the first daemon to have delivered 300 events, so it is busy, mid-run, holding events.
    const victimName = await eventually(
      () => names.find((name) => hook.requests.filter((r) => sender(r) === name).length >= 300),
      30_000,
      'a daemon delivering',
    );
    const victim = daemons[names.indexOf(victimName!)]!;
    const victimId = instanceIdOf(victim);

    // Frozen first: once the statements it had sent have finished, what it holds is what it will hold when
    // it dies. Its sessions (and presence lock) live on while it is frozen, so nobody may take its events
    // before its heartbeat is HEARTBEAT_TIMEOUT_MS old: the read below is taken before any takeover.
    await freeze(victim, database.pool);
    const { rows: heldRows } = await database.pool.query<{ id: string }>(
      'select id::text from event_triggers.event_log where locked_by = $1 and not delivered',
      [victimId],
    );
    const held = heldRows.map((r) => r.id);
    const { rows: beat } = await database.pool.query<{ heartbeat_ms: number; now_ms: number }>(
      `select extract(epoch from heartbeat_at)::float8 * 1000 as heartbeat_ms, extract(epoch from now())::float8 * 1000 as now_ms
     from event_triggers.instances where id = $1`,
      [victimId],
    );
    expect(held.length).toBeGreaterThan(0);
    expect(beat).toHaveLength(1);
    const lastBeatMs = beat[0]!.heartbeat_ms;
    // It was alive until it was frozen, and nobody could have taken anything of it yet when we looked.
    expect(beat[0]!.now_ms - lastBeatMs).toBeLessThan(HEARTBEAT_TIMEOUT_MS);

    // Its events are answered slowly from now on, so that each stays locked by its taker long enough for
    // the 50 ms poll below to see it: answered in 2 ms, a taken-over event could be delivered and unlocked
    // between two polls, and the takeover would go unseen.
    const heldSet = new Set(held);
    hook.respondWith((req) => ({ status: 200, delayMs: heldSet.has(req.json.id) ? 300 : 2 }));

    await victim.kill('SIGKILL');
    const killedAt = Date.now();
    // On the database's clock, no sooner than the kill: its events may be taken from then on (its session
    // and presence lock are gone), once its heartbeat is LAPSE_MS old.
    const { rows: killClock } = await database.pool.query<{ now_ms: number }>('select extract(epoch from now())::float8 * 1000 as now_ms');
    const takeableFromMs = Math.max(lastBeatMs + LAPSE_MS, killClock[0]!.now_ms);

    // Watch its events change hands: locked_at of a taken-over event is the time of the takeover.
    let takenAtMs: number | undefined;
    let takenBy: string | undefined;
    let lastUntouchedMs = 0;
    await eventually(
      async () => {
        const { rows } = await database.pool.query(
          `select extract(epoch from now())::float8 * 1000 as now_ms,
                count(*) filter (where locked_by = $1)::int as still_victim,
                (array_agg(locked_by::text) filter (where locked_by <> $1))[1] as taker,
                min(extract(epoch from locked_at)::float8 * 1000) filter (where locked_by <> $1) as taken_ms
         from event_triggers.event_log where id = any($2::uuid[])`,
          [victimId, held],
        );
        const row = rows[0];
        if (row.still_victim === held.length) lastUntouchedMs = row.now_ms;
        if (row.taken_ms !== null && takenAtMs === undefined) {
          takenAtMs = row.taken_ms;
          takenBy = row.taker;
        }
        return row.still_victim === 0;
      },
      15_000,
      `the killed daemon's events taken over (log:\n${tail(daemons.find((d) => d !== victim))})`,
    );
    const takeoverWallMs = Date.now() - killedAt;
    // Every request the victim sent before it died has been read by now (seconds have passed): any later
    // one would have been sent by a dead daemon.
    const victimArrivals = hook.requests.filter((r) => sender(r) === victimName).length;

    await trickle;
    await eventually(async () => (await eventLogCounts(database.pool)).delivered === TOTAL, 30_000, `all ${TOTAL} delivered`);

    // Taken over after the heartbeat lapsed, not before; and once takeable, within the survivors' checks
    // (every CHECK_MS): a whole heartbeat timeout is the bound, so a loaded machine has room.
    expect(takenAtMs, 'no poll saw an event locked by a survivor').toBeDefined();
    expect(takenAtMs! - lastBeatMs).toBeGreaterThanOrEqual(LAPSE_MS);
    expect(takenAtMs! - takeableFromMs).toBeLessThan(HEARTBEAT_TIMEOUT_MS);
    const survivorIds = daemons.filter((d) => d !== victim).map(instanceIdOf);
    expect(survivorIds).toContain(takenBy);

    // The survivors delivered every event the dead one held, and only after the takeover.
    const heldArrivals = hook.requests.filter((r) => heldSet.has(r.json.id as string));
    for (const id of held) {
      const fromSurvivors = heldArrivals.filter((r) => r.json.id === id && sender(r) !== victimName);
      expect(fromSurvivors.length, `held event ${id} not delivered by a survivor`).toBeGreaterThan(0);
    }
    // (The database and the webhook share this machine's clock.)
    const takenAtWall = takenAtMs!;
    expect(heldArrivals.filter((r) => sender(r) !== victimName).every((r) => r.at >= takenAtWall - 50)).toBe(true);
    const { rows: logs } = await database.pool.query(
      `select count(distinct event_id)::int as events, min(extract(epoch from created_at)::float8 * 1000) as first_ms
     from event_triggers.event_invocation_logs where event_id = any($1::uuid[])`,
      [held],
    );
    expect(logs[0].events).toBe(held.length);
    expect(logs[0].first_ms).toBeGreaterThanOrEqual(takenAtMs!);

    // All delivered, none lost, nothing left locked; every daemon took part.
    expect(await eventLogCounts(database.pool)).toEqual({ total: TOTAL, delivered: TOTAL, error: 0, locked: 0 });
    const arrivals = arrivalsById(hook.requests);
    expect(new Set(arrivals.keys())).toEqual(await eventLogIds(database.pool));
    for (const name of names) expect(hook.requests.some((r) => sender(r) === name)).toBe(true);
    expect(hook.requests.filter((r) => sender(r) === victimName)).toHaveLength(victimArrivals);

    // Duplicates: only events the killed daemon held, each sent once by it, at most its HTTP pool.
    const duplicates = duplicateArrivals(hook.requests);
    expect(duplicates).toBeLessThanOrEqual(POOL);
    for (const id of duplicatedIds(hook.requests)) {
      expect(heldSet.has(id), `event ${id} duplicated but not held by the killed daemon`).toBe(true);
      const from = hook.requests.filter((r) => r.json.id === id).map(sender);
      expect(from.filter((s) => s === victimName)).toHaveLength(1);
    }

    console.log(
      `[takeover ${n} daemons] killed one holding ${held.length} events; taken over ${Math.round(takenAtMs! - lastBeatMs)} ms ` +
        `after its last heartbeat (lapse ${LAPSE_MS} ms, checks every ${CHECK_MS} ms), ${takeoverWallMs} ms after the kill (all still its own ${lastUntouchedMs ? Math.round(lastUntouchedMs - lastBeatMs) : '-'} ms after its last beat); ${duplicates} duplicates; ` +
        `${Date.now() - started} ms`,
    );
  },
  90_000,
);
