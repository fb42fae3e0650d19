/**
 * The embedded PostgreSQL's superuser password (npm start without DATABASE_URL): random per data folder,
 * kept in a 0600 file in it and reused; a folder made with the old fixed password "postgres" has it
 * replaced on its next start, even when a start was interrupted halfway; an unknown one stops the start
 * with a clear message. The daemon never writes the password in its JSON log.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { embeddedDatabaseNotice, PASSWORD_FILE, scramVerifier, startEmbeddedPostgres, type EmbeddedServer } from '../../src/db/embedded.js';
import { spawnDaemon } from '../support/daemonProcess.js';
import { freePort } from '../support/provisionPostgres.js';

const SLOW = 180_000; // initdb and server starts, on a shared machine

let root: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'pget-embedded-test-'));
});
afterAll(() => rm(root, { recursive: true, force: true }));

/** 'ok', or the SQLSTATE of the refusal. */
async function logIn(port: number, password: string): Promise<string> {
  const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', password, database: 'postgres' });
  try {
    await client.connect();
    return 'ok';
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function sql(server: EmbeddedServer, text: string) {
  const client = new pg.Client({ connectionString: server.url });
  await client.connect();
  try {
    return await client.query(text);
  } finally {
    await client.end();
  }
}

describe('the superuser password of a data folder', () => {
  let dataDir: string;
  let port: number;
  let password: string;
  const passwordFile = () => path.join(dataDir, PASSWORD_FILE);
  const start = () => startEmbeddedPostgres({ dataDir, port, settings: { fsync: 'off' } });

  beforeAll(async () => {
    dataDir = path.join(root, 'data');
    port = await freePort();
  });

  test('is random, kept in a 0600 file in the folder, and the fixed one is refused', { timeout: SLOW }, async () => {
    const server = await start();
    try {
      password = (await readFile(passwordFile(), 'utf8')).trim();
      expect(password).toMatch(/^[A-Za-z0-9_-]{32}$/);
      expect((await stat(passwordFile())).mode & 0o777).toBe(0o600);
      expect(server.passwordFile).toBe(passwordFile());
      expect(server.replacedLegacyPassword).toBe(false);
      expect(server.url).toBe(`postgres://postgres:${password}@127.0.0.1:${port}/postgres`);
      expect(await logIn(port, password)).toBe('ok');
      expect(await logIn(port, 'postgres')).toBe('28P01');
      // Stored as a SCRAM verifier, never in plain text.
      const { rows } = await sql(server, `select rolpassword from pg_authid where rolname = 'postgres'`);
      expect(rows[0].rolpassword).toMatch(/^SCRAM-SHA-256\$4096:/);
    } finally {
      await server.stop();
    }
  });

  test('is reused on later starts, and by a start that adopts a server left running', { timeout: SLOW }, async () => {
    const server = await start();
    try {
      expect(server.url).toBe(`postgres://postgres:${password}@127.0.0.1:${port}/postgres`);
      const adopted = await start();
      expect(adopted.url).toBe(server.url);
      expect(await logIn(port, password)).toBe('ok');
    } finally {
      await server.stop();
    }
  });

  test('a folder made with the old fixed password gets a random one on its next start', { timeout: SLOW }, async () => {
    // As an earlier version left it: password "postgres", no password file.
    const before = await start();
    await sql(before, `alter role postgres password 'postgres'`);
    await before.stop();
    await rm(passwordFile());

    const server = await start();
    try {
      expect(server.replacedLegacyPassword).toBe(true);
      const replaced = (await readFile(passwordFile(), 'utf8')).trim();
      expect(replaced).toMatch(/^[A-Za-z0-9_-]{32}$/);
      expect(replaced).not.toBe(password);
      expect((await stat(passwordFile())).mode & 0o777).toBe(0o600);
      expect(await logIn(port, replaced)).toBe('ok');
      expect(await logIn(port, 'postgres')).toBe('28P01');
      password = replaced;
    } finally {
      await server.stop();
    }
  });

  test('a replacement interrupted after the file was written is finished on the next start', { timeout: SLOW }, async () => {
    const before = await start();
    await sql(before, `alter role postgres password 'postgres'`);
    await before.stop();

    const server = await start();
    try {
      expect(server.replacedLegacyPassword).toBe(true);
      expect((await readFile(passwordFile(), 'utf8')).trim()).toBe(password);
      expect(await logIn(port, password)).toBe('ok');
      expect(await logIn(port, 'postgres')).toBe('28P01');
    } finally {
      await server.stop();
    }
  });

  test(
    'a password that neither the file nor the old default knows stops the start, naming the file and not leaving the server running',
    { timeout: SLOW },
    async () => {
      const before = await start();
      const unknown = randomBytes(9).toString('hex');
      await sql(before, `alter role postgres password '${unknown}'`);
      await before.stop();
      await rm(passwordFile());

      const failure = await start().then(
        () => undefined,
        (error: Error) => error.message,
      );
      expect(failure).toBe(
        `cannot log in to the embedded PostgreSQL on port ${port}: it refuses the password in ${passwordFile()}. ` +
          `Write its superuser's password in that file, or remove the data folder ${dataDir} to start afresh (its databases go with it)`,
      );
      expect(existsSync(path.join(dataDir, 'postmaster.pid'))).toBe(false);
      expect(await logIn(port, unknown)).toBe('ECONNREFUSED');
    },
  );
});

test('the verifier is the one PostgreSQL computes (RFC 7677 test vector, as PostgreSQL formats it)', () => {
  // RFC 7677 section 3: user "user", password "pencil", salt W22ZaJ0SNY7soEsUEjb6gQ==, 4096 iterations.
  const verifier = scramVerifier('pencil', Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64'), 4096);
  expect(verifier).toBe(
    'SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=',
  );
});

test('the notice: the whole URL on a terminal, the password file otherwise', () => {
  const url = 'postgres://postgres:s3cr3t@127.0.0.1:54329/postgres';
  expect(embeddedDatabaseNotice(url, '.data/postgres/superuser-password', true)).toContain(`DATABASE_URL=${url}`);
  const piped = embeddedDatabaseNotice(url, '.data/postgres/superuser-password', false);
  expect(piped).not.toContain('s3cr3t');
  expect(piped).toBe(
    'pg-event-triggers: connect to the embedded PostgreSQL with DATABASE_URL=postgres://postgres:PASSWORD@127.0.0.1:54329/postgres, ' +
      'PASSWORD being the content of .data/postgres/superuser-password\n',
  );
});

test('the daemon without DATABASE_URL: the JSON log says where the password is, never what it is', { timeout: SLOW }, async () => {
  const dataDir = path.join(root, 'daemon-data');
  const daemon = await spawnDaemon({ EMBEDDED_PG_DIR: dataDir, EMBEDDED_PG_PORT: String(await freePort()), LOG_LEVEL: 'debug' }, SLOW);
  try {
    const password = (await readFile(path.join(dataDir, PASSWORD_FILE), 'utf8')).trim();
    const res = await fetch(`${daemon.url}/healthz`);
    expect(res.status).toBe(200);
    const entries = daemon.lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
    const ready = entries.find((e) => typeof e.msg === 'string' && e.msg.startsWith('embedded PostgreSQL ready'));
    expect(ready).toMatchObject({ level: 30, user: 'postgres', passwordFile: path.join(dataDir, PASSWORD_FILE) });
    const exit = await daemon.kill('SIGTERM');
    expect(exit.code).toBe(0);
    // Not a terminal here: the notice on stderr names the file too.
    expect(daemon.lines.some((l) => l.includes(`PASSWORD being the content of ${path.join(dataDir, PASSWORD_FILE)}`))).toBe(true);
    expect(daemon.lines.filter((l) => l.includes(password))).toEqual([]);
  } finally {
    if (daemon.child.exitCode === null && daemon.child.signalCode === null) await daemon.kill('SIGKILL');
  }
});
