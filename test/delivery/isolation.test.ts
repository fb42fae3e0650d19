/**
 * One bad endpoint never slows the others. A trigger whose endpoint accepts connections and never answers
 * has hundreds of due events; another trigger's events still arrive in milliseconds, on one daemon and
 * with two daemons sharing the database, and the daemons hold no more of the hung trigger's events than
 * their share of the claim window.
 *
 * Before flow control, one FIFO queue fed one pool of HTTP slots: the hung endpoint held every slot, and
 * the healthy trigger's 10 events took 14.6 s to arrive (timeout_sec 5).
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { eventually, openTestDatabase, startTestDaemon, type DaemonHarness } from '../support/daemonHarness.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhookReceiver.js';

const POOL = 16;
const BATCH = 40;
const env = { EVENTS_HTTP_POOL_SIZE: String(POOL), EVENTS_FETCH_BATCH_SIZE: String(BATCH), DB_POOL_SIZE: '4' };

for (const daemonCount of [1, 2]) {
  describe(`${daemonCount} daemon${daemonCount > 1 ? 's' : ''}`, () => {
    let database: Awaited<ReturnType<typeof openTestDatabase>>;
    let daemons: DaemonHarness[] = [];
    let hung: WebhookReceiver;
    let healthy: WebhookReceiver;

    beforeAll(async () => {
      database = await openTestDatabase();
      hung = await startWebhookReceiver();
      healthy = await startWebhookReceiver();
      for (let i = 0; i < daemonCount; i++) daemons.push(await startTestDaemon(database.db.url, { env }));
      await database.pool.query('create table slow_orders (id int primary key)');
      await database.pool.query('create table payments (id int primary key)');
      await daemons[0]!.query('create_event_trigger', {
        name: 'slow_orders',
        table: 'slow_orders',
        webhook: hung.url,
        insert: { columns: '*' },
        retry_conf: { num_retries: 0, timeout_sec: 5 },
      });
      await daemons[0]!.query('create_event_trigger', {
        name: 'payments',
        table: 'payments',
        webhook: healthy.url,
        insert: { columns: '*' },
      });
    });
    afterAll(async () => {
      hung?.release();
      await Promise.all(daemons.map((d) => d.stop()));
      daemons = [];
      await hung?.close();
      await healthy?.close();
      await database?.close();
    });

    /** Inserts rows one transaction each, spaced out; each event's latency from its commit to its arrival. */
    async function latencies(from: number, count: number): Promise<number[]> {
      const committedAt = new Map<number, number>();
      for (let id = from; id < from + count; id++) {
        await database.pool.query('insert into payments values ($1)', [id]);
        committedAt.set(id, Date.now());
        await new Promise((r) => setTimeout(r, 30));
      }
      await eventually(
        () => healthy.requests.filter((r) => committedAt.has(r.json.event.data.new.id)).length === count,
        15_000,
        'every payment',
      );
      return healthy.requests
        .filter((r) => committedAt.has(r.json.event.data.new.id))
        .map((r) => r.at - committedAt.get(r.json.event.data.new.id as number)!);
    }

    test('a hung endpoint with hundreds of due events: the other trigger keeps its latency, and the hung one is held to its share', async () => {
      const baseline = await latencies(1, 10);
      hung.hold();
      await database.pool.query('insert into slow_orders select generate_series(1, 300)');
      // Every slot of the pool is held by the hung endpoint before the healthy trigger's events come.
      await eventually(() => hung.inFlight() >= POOL, 10_000, 'the hung endpoint holding the whole pool');
      const during = await latencies(11, 10);
      const p50 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
      console.log(
        `[isolation, ${daemonCount} daemon(s)] healthy trigger, ms: without the fault p50 ${p50(baseline)} max ${Math.max(...baseline)}; ` +
          `with ${hung.inFlight()} requests hung, p50 ${p50(during)} max ${Math.max(...during)}`,
      );
      expect(Math.max(...during)).toBeLessThan(1000);
      // The daemons hold at most their share of the claim window of the hung trigger's 300 events: the
      // rest waits in the database, not in memory.
      const { rows } = await database.pool.query<{ held: number }>(
        "select count(*)::int as held from event_triggers.event_log where trigger_name = 'slow_orders' and locked_by is not null",
      );
      expect(rows[0]!.held).toBeLessThanOrEqual(daemonCount * (POOL + BATCH));
      expect(rows[0]!.held).toBeGreaterThanOrEqual(POOL);
    });
  });
}
