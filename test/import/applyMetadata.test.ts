/**
 * `pg-event-triggers apply-metadata`: a Hasura project applied to a daemon's API (a real one, on a real
 * PostgreSQL) through replace_metadata: a dry run first, then the apply, then nothing left to do; what
 * the daemon cannot apply refuses all of it; and the command line's exit codes.
 */
import { execFile } from 'node:child_process';
import { rmSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { applyMetadata } from '../../src/import/applyMetadata.js';
import { startApi, type ApiHarness } from '../support/apiHarness.js';
import { catalogSnapshot } from '../support/catalogSnapshot.js';
import { CLI } from '../support/daemonProcess.js';
import { CONFIG_V3, writeProject } from './projectFixtures.js';

let api: ApiHarness;
let root: string;
const SECRET = 'apply-secret';

beforeAll(async () => {
  api = await startApi({
    adminSecret: SECRET,
    env: { HOOK_BASE: 'http://127.0.0.1:9', HOOK_SECRET: 's3cr3t', ORDERS_HOOK: 'http://127.0.0.1:9/orders' },
  });
  await api.pool.query('create table public.users (id bigint primary key, name text); create table public.audit (id int)');
  await api.pool.query('create schema app; create table app.orders (id int primary key, total numeric)');
  root = writeProject(CONFIG_V3);
});
afterAll(async () => {
  await api?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

async function apply(options: { dryRun?: boolean; project?: string; secret?: string } = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await applyMetadata({
    project: options.project ?? root,
    endpoint: api.url,
    adminSecret: options.secret ?? SECRET,
    dryRun: options.dryRun ?? false,
    allowInconsistentMetadata: false,
    print: (line) => out.push(line),
    printError: (line) => err.push(line),
  });
  return { code, out, err };
}

const triggerNames = async () =>
  (await api.pool.query('select name from event_triggers.event_triggers order by name')).rows.map((r) => r.name);

describe('apply-metadata', () => {
  test('a dry run says what would change and changes nothing; the apply does it; a second apply has nothing to do', async () => {
    const before = await catalogSnapshot(api.pool);
    const dry = await apply({ dryRun: true });
    expect(dry.code, dry.err.join('\n')).toBe(0);
    expect(dry.out).toEqual([
      expect.stringMatching(/^Read .*config v3.*: 12 files, 2 event triggers\.$/),
      'Ignored (not served by pg-event-triggers):',
      '  metadata metadata: "remote_schemas": not served by pg-event-triggers, ignored',
      '  table public.users: "select_permissions": not served by pg-event-triggers, ignored',
      'Dry run: nothing was changed. Applying would:',
      '  create  user_changes',
      '  create  order_created',
    ]);
    expect(await catalogSnapshot(api.pool)).toEqual(before);

    const applied = await apply();
    expect(applied.code).toBe(0);
    expect(applied.out.slice(-3)).toEqual(['Applied:', '  create  user_changes', '  create  order_created']);
    expect(await triggerNames()).toEqual(['order_created', 'user_changes']);
    const { rows } = await api.pool.query(`select definition from event_triggers.event_triggers where name = 'user_changes'`);
    expect(rows[0].definition).toMatchObject({
      webhook: '{{HOOK_BASE}}/users',
      enable_manual: true,
      update: { columns: ['name'] },
      headers: [{ name: 'X-Secret', value_from_env: 'HOOK_SECRET' }],
      retry_conf: { num_retries: 3, interval_sec: 10, timeout_sec: 60 },
    });

    const again = await apply();
    expect(again.out.slice(-2)).toEqual(['Nothing to change.', '  (2 unchanged: user_changes, order_created)']);
  });

  test('a trigger removed from the project is deleted; one the daemon cannot apply refuses everything', async () => {
    await apply();
    const orders = path.join(root, 'metadata/databases/default/tables/app_orders.yaml');
    const ordersText = CONFIG_V3['metadata/databases/default/tables/app_orders.yaml']!;
    writeFileSync(orders, 'table:\n  name: orders\n  schema: app\n');
    try {
      const removed = await apply();
      expect(removed.out.slice(-3)).toEqual(['Applied:', '  delete  order_created', '  (1 unchanged: user_changes)']);
      // A trigger on a column that does not exist: nothing is applied, and the reason is printed.
      writeFileSync(orders, ordersText.replace('payload: [id, total]', 'payload: [id, nope]'));
      const before = await catalogSnapshot(api.pool);
      const refused = await apply();
      expect(refused.code).toBe(1);
      expect(refused.out).toContainEqual(
        expect.stringMatching(/^ {2}event_trigger order_created on table app.orders: Inconsistent object: column "nope"/),
      );
      expect(refused.err).toEqual([
        'pg-event-triggers: apply-metadata: the daemon refused the metadata (unexpected) at $.args: cannot continue due to inconsistent metadata',
      ]);
      expect(await catalogSnapshot(api.pool)).toEqual(before);
    } finally {
      writeFileSync(orders, ordersText);
    }
  });

  test('a wrong admin secret, an unreachable daemon, a project that cannot be read: exit code 1 and one line', async () => {
    const denied = await apply({ secret: 'wrong' });
    expect([denied.code, denied.err]).toEqual([1, [expect.stringMatching(/refused the metadata \(access-denied\)/)]]);
    const unreadable = await apply({ project: path.join(root, 'nope') });
    expect([unreadable.code, unreadable.err]).toEqual([
      1,
      [expect.stringMatching(/^pg-event-triggers: apply-metadata: .*nope does not exist$/)],
    ]);
    const out: string[] = [];
    const unreachable = await applyMetadata({
      project: root,
      endpoint: 'http://127.0.0.1:9',
      adminSecret: undefined,
      dryRun: true,
      allowInconsistentMetadata: false,
      print: () => undefined,
      printError: (line) => out.push(line),
    });
    expect([unreachable, out]).toEqual([
      1,
      [expect.stringMatching(/cannot reach the daemon at http:\/\/127.0.0.1:9\/v1\/metadata: .*--endpoint/)],
    ]);
  });

  test('the command line (built): apply-metadata <project> --dry-run --endpoint URL, with the admin secret from the environment', async () => {
    // Asynchronously: the API answering it runs in this process.
    const cli = (args: string[], env: Record<string, string> = {}) =>
      new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
        execFile(
          process.execPath,
          [CLI, ...args],
          { env: { PATH: process.env.PATH ?? '', ...env }, timeout: 30_000 },
          (error, stdout, stderr) => resolve({ status: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr }),
        );
      });
    unlinkSync(path.join(root, 'metadata/remote_schemas.yaml'));
    const run = await cli(['apply-metadata', root, '--dry-run', '--endpoint', api.url], { HASURA_GRAPHQL_ADMIN_SECRET: SECRET });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^Dry run: nothing was changed/m);
    const missing = await cli(['apply-metadata']);
    expect([missing.status, missing.stderr.trim()]).toEqual([
      2,
      'pg-event-triggers: invalid configuration: apply-metadata needs a project (a directory or a file)',
    ]);
    const extra = await cli(['start', 'extra']);
    expect([extra.status, extra.stderr.trim()]).toEqual([2, 'pg-event-triggers: invalid configuration: unexpected argument "extra"']);
  });
});
