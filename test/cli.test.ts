/** The command line as a user meets it: settings, --help, exit codes, and the daemon's start and stop. */
import { spawn, spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { request } from 'undici';
import { ConfigError, helpText, parseCommandLine, resolveConfig } from '../src/config.js';
import { openTestDatabase } from './support/daemonHarness.js';
import { CLI, spawnDaemon } from './support/daemonProcess.js';
import { freePort } from './support/ports.js';

const run = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8', timeout: 30_000 });

describe('settings', () => {
  test('flags win over environment variables; Hasura names work as fallbacks', () => {
    const { config } = parseCommandLine(['start', '--port', '9000'], {
      PORT: '7000',
      HASURA_GRAPHQL_EVENTS_HTTP_POOL_SIZE: '12',
      HASURA_GRAPHQL_ADMIN_SECRET: 'x',
    });
    expect(config.port).toBe(9000);
    expect(config.httpPoolSize).toBe(12);
    expect(config.adminSecret).toBe('x');
    expect(config.host).toBe('0.0.0.0');
  });

  test('defaults: port 8080, loopback only without a secret, pool 100, poll 1 s, heartbeat 30 s, lock timeout 2 s', () => {
    const { config } = parseCommandLine(['start'], {});
    expect(config).toMatchObject({
      port: 8080,
      host: '127.0.0.1',
      httpPoolSize: 100,
      pollIntervalMs: 1000,
      heartbeatTimeoutMs: 30_000,
      schema: 'event_triggers',
      lockTimeoutMs: 2000,
    });
    expect(parseCommandLine(['start'], { LOCK_TIMEOUT_MS: '500' }).config.lockTimeoutMs).toBe(500);
  });

  test("METRICS_SECRET (or Hasura's HASURA_GRAPHQL_METRICS_SECRET, or --metrics-secret) is off unless set", () => {
    expect(parseCommandLine(['start'], {}).config.metricsSecret).toBeUndefined();
    expect(parseCommandLine(['start'], { HASURA_GRAPHQL_METRICS_SECRET: 'h' }).config.metricsSecret).toBe('h');
    expect(parseCommandLine(['start', '--metrics-secret', 'f'], { METRICS_SECRET: 'e' }).config.metricsSecret).toBe('f');
    // A metrics secret opens nothing else: without an admin secret the API stays on loopback.
    expect(() => parseCommandLine(['start'], { METRICS_SECRET: 'm', HOST: '0.0.0.0' })).toThrow(ConfigError);
  });

  test('HEAP_GROWTH_PERCENT: 75 by default, 0 for V8 its own heuristic, a clear error out of range', () => {
    expect(parseCommandLine(['start'], {}).config.heapGrowthPercent).toBe(75);
    expect(parseCommandLine(['start'], { HEAP_GROWTH_PERCENT: '0' }).config.heapGrowthPercent).toBe(0);
    expect(parseCommandLine(['start', '--heap-growth-percent', '120'], { HEAP_GROWTH_PERCENT: '10' }).config.heapGrowthPercent).toBe(120);
    for (const bad of ['-1', '1001', 'half', '12.5']) {
      expect(() => parseCommandLine(['start'], { HEAP_GROWTH_PERCENT: bad }), bad).toThrow(/HEAP_GROWTH_PERCENT/);
    }
  });

  test('DEFAULT_CLEANUP_CONFIG is off unless set, and takes a cleanup_config with its defaults', () => {
    expect(parseCommandLine(['start'], {}).config.defaultCleanupConfig).toBeUndefined();
    const env = { DEFAULT_CLEANUP_CONFIG: '{"schedule": "0 3 * * *", "clear_older_than": 168}' };
    expect(parseCommandLine(['start'], env).config.defaultCleanupConfig).toEqual({
      schedule: '0 3 * * *',
      clear_older_than: 168,
      batch_size: 10000,
      timeout: 60,
      clean_invocation_logs: false,
      paused: false,
    });
  });

  test("STRINGIFY_NUMERIC_TYPES: off by default, as Hasura's; Hasura's variable and its bare flag turn it on", () => {
    expect(parseCommandLine(['start'], {}).config.stringifyNumericTypes).toBe(false);
    expect(parseCommandLine(['start'], { HASURA_GRAPHQL_STRINGIFY_NUMERIC_TYPES: 'true' }).config.stringifyNumericTypes).toBe(true);
    expect(parseCommandLine(['start', '--stringify-numeric-types'], {}).config.stringifyNumericTypes).toBe(true);
    expect(parseCommandLine(['--stringify-numeric-types', 'start'], {})).toMatchObject({
      command: 'start',
      config: { stringifyNumericTypes: true },
    });
    expect(parseCommandLine(['start', '--stringify-numeric-types', 'false'], {}).config.stringifyNumericTypes).toBe(false);
  });

  test('every invalid setting is named in the error', () => {
    const cases: Array<[string[], NodeJS.ProcessEnv, RegExp]> = [
      [['start'], { PORT: 'eighty' }, /PORT must be a whole number/],
      [['start', '--http-pool-size', '0'], {}, /--http-pool-size must be between 1/],
      [['start'], { DATABASE_URL: 'mysql://x' }, /DATABASE_URL must start with postgres/],
      [['start'], { HOST: '0.0.0.0' }, /HOST=0.0.0.0 exposes the API.*ADMIN_SECRET/],
      [['start'], { EVENT_TRIGGERS_SCHEMA: 'Bad-Schema' }, /EVENT_TRIGGERS_SCHEMA must be a lower-case SQL identifier/],
      [['start'], { INVOCATION_LOGS: 'maybe' }, /INVOCATION_LOGS must be true or false/],
      [['start'], { LOG_LEVEL: 'loud' }, /LOG_LEVEL must be one of/],
      [['start'], { DEFAULT_CLEANUP_CONFIG: '0 3 * * *' }, /DEFAULT_CLEANUP_CONFIG must be a JSON object/],
      [
        ['start', '--default-cleanup-config', '{"schedule": "daily", "clear_older_than": 1}'],
        {},
        /--default-cleanup-config: "daily" is not a cron schedule.*\(at \$\.schedule\)/,
      ],
      [['start'], { DEFAULT_CLEANUP_CONFIG: '{"schedule": "0 3 * * *"}' }, /DEFAULT_CLEANUP_CONFIG: key "clear_older_than" not found/],
    ];
    for (const [argv, env, message] of cases) {
      expect(() => parseCommandLine(argv, env)).toThrow(ConfigError);
      expect(() => parseCommandLine(argv, env)).toThrow(message);
    }
  });

  test('--help documents every setting: its flag, every environment variable, its help and its default', () => {
    // The settings table itself, as resolveConfig walks it (it asks for each setting's flag value).
    const settings: Array<{ key: string; flag: string; env: readonly string[]; help: string; default?: string | number | boolean }> = [];
    resolveConfig((setting) => void settings.push(setting), {});
    // Every setting of the table, and nothing else, makes up a Config.
    expect(settings.map((s) => s.key).sort()).toEqual(Object.keys(parseCommandLine(['start'], {}).config).sort());
    const help = helpText();
    for (const s of settings) {
      expect(help, s.key).toMatch(new RegExp(`^ {2}--${s.flag} <value> +${s.env.join(', ')}$`, 'm'));
      const dflt = s.default === undefined ? '' : ` (default: ${String(s.default)})`;
      expect(help, s.key).toContain(`      ${s.help}${dflt}\n`);
    }
  });
});

describe('the pg-event-triggers command', () => {
  let database: Awaited<ReturnType<typeof openTestDatabase>>;
  beforeAll(async () => {
    database = await openTestDatabase();
  });
  afterAll(() => database?.close());

  test('invalid configuration: one line naming the setting, exit code 2', () => {
    const result = run(['start'], { PORT: '70000' });
    expect(result.status).toBe(2);
    expect(result.stderr.trim().split('\n')).toEqual([
      'pg-event-triggers: invalid configuration: PORT must be between 0 and 65535, got 70000',
    ]);
    expect(run(['frobnicate']).status).toBe(2);
    expect(run(['start', '--no-such-flag']).status).toBe(2);
  });

  test('--help and --version exit 0', () => {
    const help = run(['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('Usage: pg-event-triggers');
    expect(run(['--version']).stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  test('migrate creates the catalog and can run again', () => {
    const env = { DATABASE_URL: database.db.url, EVENT_TRIGGERS_SCHEMA: 'cli_catalog', LOG_LEVEL: 'silent' };
    expect(run(['migrate'], env).status).toBe(0);
    expect(run(['migrate'], env).status).toBe(0);
  });

  test('a wrong password fails the start with one clear line and exit code 1', () => {
    const url = new URL(database.db.url);
    url.password = 'wrong-password';
    const result = run(['start'], { DATABASE_URL: url.toString(), PORT: '0', LOG_LEVEL: 'silent' });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^pg-event-triggers: cannot use DATABASE_URL: authentication failed/);
  });

  test('a trigger whose webhook_from_env is missing at boot stops the start, naming it', async () => {
    const env = { DATABASE_URL: database.db.url, EVENT_TRIGGERS_SCHEMA: 'boot_env', HOOK: 'http://127.0.0.1:9/' };
    const daemon = await spawnDaemon(env);
    await database.pool.query('create table if not exists boot_env_t (id int primary key)');
    const res = await request(`${daemon.url}/v1/query`, {
      method: 'POST',
      body: JSON.stringify({
        type: 'create_event_trigger',
        args: { name: 'needs_env', table: 'boot_env_t', webhook_from_env: 'HOOK', insert: { columns: '*' } },
      }),
    });
    expect(res.statusCode).toBe(200);
    await res.body.dump();
    await daemon.kill('SIGTERM');
    const result = run(['start'], { DATABASE_URL: database.db.url, EVENT_TRIGGERS_SCHEMA: 'boot_env', PORT: '0', LOG_LEVEL: 'silent' });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('environment variable "HOOK" for the webhook of event trigger "needs_env" is not set');
  });

  test('a trigger whose header value_from_env is missing at boot stops the start, naming the variable, the header and the trigger', async () => {
    const schema = 'boot_header_env';
    const env = { DATABASE_URL: database.db.url, EVENT_TRIGGERS_SCHEMA: schema, HOOK_TOKEN: 't0k3n' };
    const daemon = await spawnDaemon(env);
    await database.pool.query('create table if not exists boot_header_t (id int primary key)');
    const res = await request(`${daemon.url}/v1/query`, {
      method: 'POST',
      body: JSON.stringify({
        type: 'create_event_trigger',
        args: {
          name: 'needs_header_env',
          table: 'boot_header_t',
          webhook: 'http://127.0.0.1:9/',
          headers: [{ name: 'X-Token', value_from_env: 'HOOK_TOKEN' }],
          insert: { columns: '*' },
        },
      }),
    });
    expect(res.statusCode).toBe(200);
    await res.body.dump();
    expect((await daemon.kill('SIGTERM')).code).toBe(0);
    const result = run(['start'], { DATABASE_URL: database.db.url, EVENT_TRIGGERS_SCHEMA: schema, PORT: '0', LOG_LEVEL: 'silent' });
    expect(result.status).toBe(1);
    expect(result.stderr.trim().split('\n')).toEqual([
      'pg-event-triggers: environment variable "HOOK_TOKEN" for header "X-Token" of event trigger "needs_header_env" is not set',
    ]);
    // With the variable back, the same catalog starts: its absence was the only reason.
    const again = await spawnDaemon(env);
    expect((await again.kill('SIGTERM')).code).toBe(0);
  });

  test('a malformed DATABASE_URL is one line naming it, exit code 2', () => {
    const result = run(['start'], { DATABASE_URL: 'postgres://user:pass@host:notaport/db', PORT: '0' });
    expect(result.status).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/DATABASE_URL/);
  });

  test('an unreachable database: the daemon waits with a clear log line, no stack trace, and SIGTERM ends it with exit 0', async () => {
    const port = await freePort(); // nothing listens there
    const child = spawn(process.execPath, [CLI, 'start'], {
      env: { PATH: process.env.PATH ?? '', DATABASE_URL: `postgres://postgres:x@127.0.0.1:${port}/db`, PORT: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<string>((resolve) => child.on('exit', (code, signal) => resolve(signal ?? `exit ${code}`)));
    const deadline = Date.now() + 15_000;
    while (!output.includes('waiting for PostgreSQL') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const line = output.split('\n').find((l) => l.includes('waiting for PostgreSQL'));
    expect(line, output).toBeDefined();
    expect(JSON.parse(line!).msg).toMatch(/waiting for PostgreSQL \(ECONNREFUSED.*\); retrying in \d+s/);
    expect(output).not.toMatch(/^\s+at /m); // no stack trace
    // Nothing is held yet (no catalog, no events): the wait ends at once, cleanly.
    child.kill('SIGTERM');
    expect(await exited).toBe('exit 0');
    expect(output).toContain('stopping before the daemon was running');
    expect(output).not.toMatch(/^\s+at /m);
  });

  test('SIGTERM drains and exits 0; /healthz answered OK while running', async () => {
    const daemon = await spawnDaemon({ DATABASE_URL: database.db.url, EVENT_TRIGGERS_SCHEMA: 'sigterm_catalog' });
    const health = await request(`${daemon.url}/healthz`);
    expect(health.statusCode).toBe(200);
    expect(await health.body.text()).toBe('OK');
    const exit = await daemon.kill('SIGTERM');
    expect(exit.code).toBe(0);
    expect(daemon.lines.some((l) => l.includes('pg-event-triggers stopped'))).toBe(true);
    const { rows } = await database.pool.query('select count(*)::int as n from sigterm_catalog.instances');
    expect(rows[0].n).toBe(0);
    // The start says how V8's old generation is held: HEAP_GROWTH_PERCENT's default.
    const heapLine = daemon.lines.find((l) => l.includes('heapGrowthPercent'));
    expect(heapLine && JSON.parse(heapLine)).toMatchObject({ heapGrowthPercent: 75 });
  });

  test('a --heap-growing-percent given to node wins over HEAP_GROWTH_PERCENT, and the start says so', async () => {
    const env = { DATABASE_URL: database.db.url, EVENT_TRIGGERS_SCHEMA: 'sigterm_catalog', HEAP_GROWTH_PERCENT: '20' };
    const daemon = await spawnDaemon(env, 30_000, ['--heap-growing-percent=30']);
    expect((await daemon.kill('SIGTERM')).code).toBe(0);
    const line = daemon.lines.find((l) => l.includes('nodeOption'));
    expect(line && JSON.parse(line)).toMatchObject({ nodeOption: '--heap-growing-percent=30' });
    expect(daemon.lines.some((l) => l.includes('heapGrowthPercent'))).toBe(false);
  });
});

describe('docs/configuration.md', () => {
  test('documents every flag that --help lists', async () => {
    const { readFile } = await import('node:fs/promises');
    const doc = await readFile(new URL('../docs/configuration.md', import.meta.url), 'utf8');
    const flags = [...helpText().matchAll(/^ {2}(--[a-z-]+) </gm)].map((m) => m[1]!);
    expect(flags.length).toBeGreaterThan(15);
    for (const flag of flags) expect(doc, flag).toContain(`\`${flag}`);
  });
});
