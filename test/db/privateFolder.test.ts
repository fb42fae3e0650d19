/**
 * As root, from a clone inside a folder other users cannot enter (/root, the home folder of many
 * containers): the embedded PostgreSQL starts, the tests' way (data in the temporary folder) as well as
 * npm start's, because its binaries are made reachable for the postgres OS user before initdb runs; and
 * a binary that user cannot run is one clear error, not an unhandled 'error' event.
 *
 * The clone is a private folder holding links to this checkout's node_modules and dist, loaded with
 * --preserve-symlinks, so the binaries' path runs through the private folder as it would in /root.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, test } from 'vitest';
import { probeBinary } from '../../src/db/embedded.js';
import { freePort } from '../support/ports.js';

const ROOT = userInfo().uid === 0;
const REPO = fileURLToPath(new URL('../..', import.meta.url));
const made: string[] = [];
afterAll(() => made.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function privateFolder(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'pget-private-'));
  made.push(dir);
  expect(statSync(dir).mode & 0o777).toBe(0o700);
  return dir;
}

test.skipIf(!ROOT)(
  'the embedded PostgreSQL starts from a clone in a private folder, its data in the temporary folder',
  async () => {
    const home = privateFolder();
    const clone = path.join(home, 'clone');
    mkdirSync(clone);
    for (const name of ['node_modules', 'dist', 'package.json']) symlinkSync(path.join(REPO, name), path.join(clone, name));
    const script = path.join(clone, 'start.mjs');
    writeFileSync(
      script,
      `const { startEmbeddedPostgres } = await import(${JSON.stringify(path.join(clone, 'dist/src/db/embedded.js'))});
     try {
       const server = await startEmbeddedPostgres({ dataDir: process.argv[2], port: Number(process.argv[3]), settings: { fsync: 'off' } });
       console.log('STARTED');
       await server.stop();
     } catch (error) {
       console.log('FAILED ' + error.message);
       process.exitCode = 3;
     }`,
    );
    const data = path.join(privateFolder(), 'data');
    const port = await freePort();
    const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
      execFile(
        process.execPath,
        ['--preserve-symlinks', '--preserve-symlinks-main', script, data, String(port)],
        { timeout: 120_000 },
        (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr }),
      ),
    );
    expect(result.stdout.trim(), result.stderr).toBe('STARTED');
    expect(result.code).toBe(0);
    // What made it reachable: the private folder is searchable (not readable) by others now.
    expect(statSync(home).mode & 0o777).toBe(0o711);
  },
  150_000,
);

test.skipIf(!ROOT)('a binary the postgres OS user cannot reach is one clear line naming it and what to do', async () => {
  const ids = await new Promise<{ uid: number; gid: number } | undefined>((resolve) =>
    execFile('id', ['-u', 'postgres'], (error, uid) =>
      error ? resolve(undefined) : execFile('id', ['-g', 'postgres'], (_e, gid) => resolve({ uid: Number(uid), gid: Number(gid) })),
    ),
  );
  if (!ids) return; // no postgres OS user on this machine: the first test creates it
  const hidden = path.join(privateFolder(), 'postgres');
  copyFileSync('/bin/true', hidden);
  const refusal = await probeBinary(hidden, ids).then(
    () => 'ran',
    (error: Error) => error.message,
  );
  expect(refusal).toBe(
    `the embedded PostgreSQL cannot start: the "postgres" OS user cannot run ${hidden} (EACCES); ` +
      'every folder above it must be searchable by that user (chmod o+x), or install from a folder it can enter',
  );
  // This user can run it: the probe passes.
  await expect(probeBinary(hidden)).resolves.toBeUndefined();
});
