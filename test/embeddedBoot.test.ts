/**
 * `npm start` without DATABASE_URL: the daemon boots an embedded PostgreSQL (src/db/embedded.ts) in its
 * data folder, prints a URL to connect to it, runs on it, and stops it when it stops. Started exactly as
 * `npm start` runs it once built (node dist/src/cli.js start), with the environment a user would have.
 * What the URL's credentials are is left to the implementation: the test only uses the URL as printed.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { spawnDaemon, type DaemonProcess } from './support/daemonProcess.js';
import { freePort } from './support/ports.js';
import { apiQuery, isAlive } from './support/reliability.js';
import { startWebhookReceiver, type WebhookReceiver } from './support/webhookReceiver.js';

let root: string;
let dataDir: string;
let hook: WebhookReceiver;
let daemon: DaemonProcess | undefined;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'pget-boot-'));
  dataDir = path.join(root, 'postgres');
  hook = await startWebhookReceiver();
});
afterAll(async () => {
  if (daemon && isAlive(daemon)) await daemon.kill('SIGKILL');
  // A daemon killed outright leaves its PostgreSQL running: stop it as pg_ctl's fast mode does.
  const pid = await postmasterPid();
  if (pid !== undefined) {
    try {
      process.kill(pid, 'SIGINT');
      await postmasterGone(15_000);
    } catch {
      // already gone
    }
  }
  await hook?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

async function postmasterPid(): Promise<number | undefined> {
  const pid = Number((await readFile(path.join(dataDir, 'postmaster.pid'), 'utf8').catch(() => '')).split('\n')[0]);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** Whether PostgreSQL removed its postmaster.pid (it does so last on shutdown) within the time. */
async function postmasterGone(withinMs: number): Promise<boolean> {
  for (let waited = 0; waited < withinMs; waited += 100) {
    if (!existsSync(path.join(dataDir, 'postmaster.pid'))) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return !existsSync(path.join(dataDir, 'postmaster.pid'));
}

test('without DATABASE_URL the daemon boots an embedded PostgreSQL, prints a URL that works, runs on it, and stops it on SIGTERM', async () => {
  const port = await freePort();
  daemon = await spawnDaemon({ EMBEDDED_PG_DIR: dataDir, EMBEDDED_PG_PORT: String(port) }, 120_000);

  // A connection URL was printed, for the embedded server's port. Off a terminal (as here), its password
  // is a placeholder for the content of the file the same line names: logs are often collected and kept.
  const notice = daemon.lines.find((line) => /postgres(?:ql)?:\/\//.test(line));
  expect(notice, daemon.lines.join('\n')).toBeDefined();
  const shown = /postgres(?:ql)?:\/\/[^\s"',]+/.exec(notice!)![0];
  const url = new URL(shown);
  const passwordFile = /PASSWORD being the content of (\S+)/.exec(notice!)?.[1];
  expect(url.password === 'PASSWORD' ? passwordFile : 'a password in the URL', notice).toBeDefined();
  if (url.password === 'PASSWORD') url.password = encodeURIComponent((await readFile(passwordFile!, 'utf8')).trim());
  const printed = url.toString();
  expect(url.hostname).toMatch(/^(127\.0\.0\.1|localhost|\[::1\])$/);
  expect(url.port).toBe(String(port));
  expect(existsSync(path.join(dataDir, 'PG_VERSION'))).toBe(true);

  // It works as printed, and it is the daemon's own database: the catalog is there.
  const client = new pg.Client({ connectionString: printed });
  client.on('error', () => undefined); // the server goes away at the end
  await client.connect();
  try {
    const { rows } = await client.query('select count(*)::int as n from event_triggers.migrations');
    expect(rows[0].n).toBeGreaterThan(0);

    // And the daemon delivers from it, end to end.
    await client.query('create table greetings (id int primary key, text text)');
    await apiQuery(daemon.url, 'create_event_trigger', {
      name: 'greetings',
      table: 'greetings',
      webhook: hook.url,
      insert: { columns: '*' },
    });
    await client.query(`insert into greetings values (1, 'hello')`);
    const [req] = await hook.waitForRequests(1);
    expect(req!.json.event.data.new).toEqual({ id: 1, text: 'hello' });
  } finally {
    await client.end().catch(() => undefined);
  }

  // It stops what it started.
  expect((await daemon.kill('SIGTERM')).code).toBe(0);
  const after = new pg.Client({ connectionString: printed, connectionTimeoutMillis: 5000 });
  await expect(after.connect()).rejects.toThrow(/ECONNREFUSED/);
  expect(existsSync(path.join(dataDir, 'postmaster.pid'))).toBe(false);
}, 180_000);

test('a daemon that adopts the PostgreSQL a killed one left running stops it too, even on a second signal (no drain)', async () => {
  const port = await freePort();
  daemon = await spawnDaemon({ EMBEDDED_PG_DIR: dataDir, EMBEDDED_PG_PORT: String(port) }, 120_000);
  await daemon.kill('SIGKILL');
  const left = await postmasterPid();
  expect(left, 'a daemon killed outright leaves its PostgreSQL running').toBeDefined();
  expect(() => process.kill(left!, 0)).not.toThrow();

  daemon = await spawnDaemon({ EMBEDDED_PG_DIR: dataDir, EMBEDDED_PG_PORT: String(port) }, 120_000);
  expect(await postmasterPid(), 'the second daemon adopted the server rather than start another').toBe(left);
  daemon.child.kill('SIGINT');
  // Two signals sent at once may reach the process as one: the second goes once the first is seen.
  for (let waited = 0; waited < 10_000 && !daemon.lines.some((line) => line.includes('draining')); waited += 20) {
    await new Promise((r) => setTimeout(r, 20));
  }
  daemon.child.kill('SIGINT');
  const { code } = await daemon.exited;
  expect(code).toBe(130);
  expect(daemon.lines.join('\n')).toMatch(/second signal/);
  expect(await postmasterGone(15_000), 'the adopted PostgreSQL was stopped on exit').toBe(true);
}, 180_000);
