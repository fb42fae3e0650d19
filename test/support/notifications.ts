/**
 * Waiting for NOTIFYs without guessing how long they take: PostgreSQL delivers notifications in the
 * order their transactions committed, so once a sentinel NOTIFY sent now (from another session) has
 * reached the listener, every notification of a transaction that committed before it has arrived too.
 */
import type pg from 'pg';

let sentinels = 0;

export interface Heard {
  channel: string;
  payload: string;
}

/** Collects what `listener` hears; `settled(pool)` waits for a sentinel and returns the rest. */
export function recordNotifications(listener: pg.ClientBase, channel: string) {
  const heard: Heard[] = [];
  const onNotification = (n: pg.Notification) => heard.push({ channel: n.channel, payload: n.payload ?? '' });
  listener.on('notification', onNotification);
  return {
    /** Everything heard so far but the sentinels, once a sentinel sent from `pool` has arrived. */
    async settled(pool: pg.Pool, timeoutMs = 10_000): Promise<Heard[]> {
      const sentinel = `sentinel:${process.pid}:${++sentinels}`;
      await pool.query('select pg_notify($1, $2)', [channel, sentinel]);
      const deadline = Date.now() + timeoutMs;
      while (!heard.some((h) => h.payload === sentinel)) {
        if (Date.now() > deadline) throw new Error(`the sentinel NOTIFY on ${channel} did not arrive within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 10));
      }
      return heard.filter((h) => !h.payload.startsWith('sentinel:'));
    },
    stop: () => void listener.removeListener('notification', onNotification),
  };
}
