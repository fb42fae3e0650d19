/**
 * Small helpers shared by the reliability tests (test/reliability/): the daemon's API and /healthz over
 * real HTTP, and accounting of what a webhook received, by event id.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import type pg from 'pg';
import { request } from 'undici';
import type { DaemonProcess } from './daemonProcess.js';
import type { ReceivedRequest } from './webhookReceiver.js';

/** POST /v1/query {"type", "args"} on a daemon; throws with the body on a non-200 answer. */
export async function apiQuery(baseUrl: string, type: string, args: unknown): Promise<unknown> {
  const res = await request(`${baseUrl}/v1/query`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ type, args }),
  });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`${type} answered ${res.statusCode}: ${text}`);
  return JSON.parse(text);
}

/** GET /healthz: the status code, or 0 when the request itself failed (nothing listening). */
export async function healthStatus(baseUrl: string, timeoutMs = 3000): Promise<number> {
  try {
    const res = await request(`${baseUrl}/healthz`, { headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
    await res.body.dump();
    return res.statusCode;
  } catch {
    return 0;
  }
}

/** True while the child process has neither exited nor been killed. */
export function isAlive(daemon: DaemonProcess): boolean {
  return daemon.child.exitCode === null && daemon.child.signalCode === null;
}

/** How many times each event id reached the webhook (requests without a parsable event are left out). */
export function arrivalsById(requests: readonly ReceivedRequest[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of requests) {
    const id = r.json?.id;
    if (typeof id !== 'string') continue;
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

/** Arrivals beyond the first of each event. */
export function duplicateArrivals(requests: readonly ReceivedRequest[]): number {
  let n = 0;
  for (const count of arrivalsById(requests).values()) n += count - 1;
  return n;
}

/** Ids of the events that reached the webhook more than once. */
export function duplicatedIds(requests: readonly ReceivedRequest[]): Set<string> {
  return new Set([...arrivalsById(requests)].filter(([, count]) => count > 1).map(([id]) => id));
}

/** The instance id a daemon process announced when it started running. */
export function instanceIdOf(daemon: DaemonProcess): string {
  for (const line of daemon.lines) {
    try {
      const entry = JSON.parse(line) as { msg?: string; instanceId?: string };
      if (entry.msg === 'pg-event-triggers is running' && entry.instanceId) return entry.instanceId;
    } catch {
      // not a log line
    }
  }
  throw new Error('the daemon did not log its instance id');
}

export interface EventLogCounts {
  total: number;
  delivered: number;
  error: number;
  locked: number;
}

export async function eventLogCounts(pool: pg.Pool, schema = 'event_triggers'): Promise<EventLogCounts> {
  const { rows } = await pool.query(
    `select count(*)::int as total, count(*) filter (where delivered)::int as delivered,
            count(*) filter (where error)::int as error, count(*) filter (where locked_by is not null)::int as locked
     from ${schema}.event_log`,
  );
  return rows[0] as EventLogCounts;
}

export async function eventLogIds(pool: pg.Pool, schema = 'event_triggers'): Promise<Set<string>> {
  const { rows } = await pool.query<{ id: string }>(`select id::text from ${schema}.event_log`);
  return new Set(rows.map((r) => r.id));
}

/** The last lines a daemon printed, for a failure message. */
export function tail(daemon: DaemonProcess | undefined, n = 30): string {
  return daemon ? daemon.lines.slice(-n).join('\n') : '';
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface LogEntry {
  msg?: string;
  /** pino's timestamp: Date.now() in the daemon when it logged the line. */
  time: number;
  level: number;
  [key: string]: unknown;
}

/** The daemon's log lines that are JSON (pino), parsed. */
export function logEntries(daemon: DaemonProcess): LogEntry[] {
  const entries: LogEntry[] = [];
  for (const line of daemon.lines) {
    try {
      const entry = JSON.parse(line) as LogEntry;
      if (typeof entry.time === 'number') entries.push(entry);
    } catch {
      // not a log line
    }
  }
  return entries;
}

/** The first log entry whose msg matches (a string matches the start of msg), once it is printed. */
export async function waitForLog(daemon: DaemonProcess, msg: string | RegExp, timeoutMs = 15_000): Promise<LogEntry> {
  const matches = (m: string | undefined) => m !== undefined && (typeof msg === 'string' ? m.startsWith(msg) : msg.test(m));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = logEntries(daemon).find((e) => matches(e.msg));
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`the daemon did not log "${String(msg)}" within ${timeoutMs} ms:\n${tail(daemon)}`);
    await sleep(20);
  }
}

/**
 * Whether a daemon's wake connection holds the wake lock of `schema` on this pool's database: it does
 * while its fetch loop sleeps until NOTIFY (src/delivery/wakeLock.ts), and lets it go when it turns
 * busy or drains.
 */
export async function wakeLockHeld(pool: pg.Pool, schema = 'event_triggers'): Promise<boolean> {
  const { rows } = await pool.query(`
    select count(*)::int as n from pg_locks l join pg_stat_activity a on a.pid = l.pid
    where l.locktype = 'advisory' and l.classid = ${schema}.wake_lock_class()::oid and l.objid = 0
      and l.mode = 'ExclusiveLock' and l.granted and a.application_name = 'pg-event-triggers wake'
      and l.database = (select oid from pg_database where datname = current_database())`);
  return rows[0].n === 1;
}

/**
 * The database sessions of a process on this machine (Linux): its TCP sockets, by inode in /proc, give
 * their local ports, which pg_stat_activity shows as client_port.
 */
export async function sessionsOf(
  pool: pg.Pool,
  pid: number,
): Promise<Array<{ pid: number; state: string | null; application_name: string }>> {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const link = readlinkSync(`/proc/${pid}/fd/${fd}`);
      const inode = /^socket:\[(\d+)\]$/.exec(link)?.[1];
      if (inode) inodes.add(inode);
    } catch {
      // closed meanwhile
    }
  }
  const ports: number[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length > 9 && inodes.has(cols[9]!)) ports.push(parseInt(cols[1]!.split(':').at(-1)!, 16));
    }
  }
  const { rows } = await pool.query<{ pid: number; state: string | null; application_name: string }>(
    `select pid, state, application_name from pg_stat_activity where datname = current_database() and client_port = any($1::int[])`,
    [ports],
  );
  return rows;
}

/**
 * Stops a daemon process where it stands (SIGSTOP) and waits until every statement it had already sent
 * has finished: from then on, what it holds in the database is exactly what it holds when it dies. Its
 * sessions stay open meanwhile, so to the other daemons it is still alive (its presence lock is held)
 * until its heartbeat is a full HEARTBEAT_TIMEOUT_MS old. Returns its session pids.
 */
export async function freeze(daemon: DaemonProcess, pool: pg.Pool): Promise<number[]> {
  daemon.child.kill('SIGSTOP');
  const deadline = Date.now() + 10_000;
  for (;;) {
    const sessions = await sessionsOf(pool, daemon.child.pid!);
    // The wake connection may wait for the wake lock for good, and changes no row: it does not count.
    const writers = sessions.filter((s) => s.application_name !== 'pg-event-triggers wake');
    if (writers.length > 0 && writers.every((s) => s.state !== 'active')) return sessions.map((s) => s.pid);
    if (Date.now() > deadline) throw new Error(`the frozen daemon's sessions stayed busy: ${JSON.stringify(sessions)}`);
    await sleep(20);
  }
}
