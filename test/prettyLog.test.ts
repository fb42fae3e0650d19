/**
 * Logs on a terminal are readable lines (time, level, message, key=value, an error's stack below);
 * through a pipe they stay JSON, one object a line; LOG_FORMAT overrides either way.
 */
import { execFile, spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { prettyLine } from '../src/prettyLog.js';
import { openTestDatabase } from './support/daemonHarness.js';
import { CLI } from './support/daemonProcess.js';

describe('prettyLine', () => {
  const at = Date.UTC(2026, 11, 2, 9, 30, 5, 123);
  test('time, level, message, then the fields; the frame every line has is left out', () => {
    const line = JSON.stringify({
      level: 30,
      time: at,
      pid: 1,
      hostname: 'h',
      service: 'pg-event-triggers',
      msg: 'running',
      url: 'http://127.0.0.1:8080',
      n: 3,
      why: 'two words',
    });
    expect(prettyLine(line, false)).toBe('09:30:05.123 INFO  running url=http://127.0.0.1:8080 n=3 why="two words"');
  });

  test("an error's stack goes below its line, indented; colors only when asked", () => {
    const line = JSON.stringify({
      level: 50,
      time: at,
      msg: 'request failed',
      err: { message: 'boom', stack: 'Error: boom\n    at f (x.js:1:1)' },
    });
    expect(prettyLine(line, false)).toBe('09:30:05.123 ERROR request failed\n    Error: boom\n        at f (x.js:1:1)');
    expect(prettyLine(line, true)).toContain('\x1b[31mERROR\x1b[0m');
  });

  test('what is not a pino line passes through unchanged', () => {
    expect(prettyLine('not json', false)).toBe('not json');
    expect(prettyLine('{"a":1}', false)).toBe('{"a":1}');
  });
});

describe('the command on a terminal and through a pipe', () => {
  let database: Awaited<ReturnType<typeof openTestDatabase>>;
  beforeAll(async () => {
    database = await openTestDatabase();
  });
  afterAll(() => database?.close());

  const hasScript = spawnSync('script', ['--version']).status === 0;
  const migrate = (viaTerminal: boolean, env: Record<string, string> = {}) =>
    new Promise<string>((resolve, reject) => {
      const vars = {
        PATH: process.env.PATH ?? '',
        DATABASE_URL: database.db.url,
        EVENT_TRIGGERS_SCHEMA: 'log_format',
        NO_COLOR: '1',
        ...env,
      };
      const [command, args] = viaTerminal
        ? ['script', ['-qec', `${process.execPath} ${CLI} migrate`, '/dev/null']]
        : [process.execPath, [CLI, 'migrate']];
      execFile(command, args, { env: vars, timeout: 30_000 }, (error, stdout) => {
        if (error) reject(new Error(`${command} failed: ${error.message}`));
        else resolve(stdout);
      });
    });

  test.skipIf(!hasScript)('readable on a terminal (script gives the command one), JSON through a pipe, LOG_FORMAT to choose', async () => {
    const onTerminal = await migrate(true);
    expect(onTerminal).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO {2}catalog is up to date schema=log_format/m);
    expect(onTerminal).not.toContain('{"level"');
    const piped = (await migrate(false)).trim().split('\n');
    expect(JSON.parse(piped.at(-1)!)).toMatchObject({ level: 30, msg: 'catalog is up to date' });
    expect(await migrate(true, { LOG_FORMAT: 'json' })).toContain('"msg":"catalog is up to date"');
  });
});
