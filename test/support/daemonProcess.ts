/**
 * The daemon as its own process, started the way a user starts it (`node dist/src/cli.js start`), for
 * tests that kill it. `npm test` builds dist/ first.
 *
 * Every daemon started here is tracked until it exits: the vitest setup file (testSetup.ts) kills, after
 * each test, those the test started and left running, and after each file all of them, whether the
 * test passed or not; and whatever is still alive when this process exits is killed then.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// Under vitest this file runs from test/support/; the benchmark runs its compiled copy in dist/test/support/.
const RUNS_FROM_DIST = import.meta.url.includes('/dist/test/support/');
export const CLI = fileURLToPath(new URL(RUNS_FROM_DIST ? '../../src/cli.js' : '../../dist/src/cli.js', import.meta.url));

export interface DaemonProcess {
  child: ChildProcess;
  url: string;
  /** Every log line the process printed. */
  lines: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Child daemons that have not exited yet, with the generation they were started in. */
const live = new Map<ChildProcess, number>();
let generation = 0;
process.on('exit', () => {
  for (const child of live.keys()) child.kill('SIGKILL');
});

/** Starts a new generation: killDaemonsSince(mark) kills those started from now on. */
export function markDaemons(): number {
  return ++generation;
}

/** SIGKILLs the daemons started since `mark` (every one, by default) that are still running; waits for them. */
export async function killDaemonsSince(mark = 0): Promise<number> {
  const victims = [...live].filter(([, g]) => g >= mark).map(([child]) => child);
  await Promise.all(
    victims.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (!live.has(child)) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGKILL');
        }),
    ),
  );
  return victims.length;
}

/**
 * nodeArgs go to node itself, before the CLI (the benchmark passes --cpu-prof this way); `cli` is another
 * build's CLI (the benchmark compares builds).
 */
export async function spawnDaemon(
  env: Record<string, string>,
  timeoutMs = 30_000,
  nodeArgs: string[] = [],
  cli = CLI,
): Promise<DaemonProcess> {
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run "npm run build" (npm test does it first)`);
  const child = spawn(process.execPath, [...nodeArgs, cli, 'start'], {
    env: { PATH: process.env.PATH ?? '', PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.set(child, generation);
  const lines: string[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => {
      live.delete(child);
      resolve({ code, signal });
    }),
  );
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL'); // a daemon that never came up is of no use to anyone
      reject(new Error(`daemon did not start in ${timeoutMs} ms:\n${lines.join('\n')}`));
    }, timeoutMs);
    const onLine = (line: string) => {
      lines.push(line);
      try {
        const entry = JSON.parse(line) as { msg?: string; url?: string };
        if (entry.msg === 'pg-event-triggers is running' && entry.url) {
          clearTimeout(timer);
          resolve(entry.url);
        }
      } catch {
        // not a log line
      }
    };
    let buffered = '';
    const read = (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const parts = buffered.split('\n');
      buffered = parts.pop() ?? '';
      parts.forEach(onLine);
    };
    child.stdout.on('data', read);
    child.stderr.on('data', read);
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`daemon exited (${code ?? signal}) before it was running:\n${lines.join('\n')}`));
    });
  });
  return {
    child,
    url,
    lines,
    exited,
    kill(signal = 'SIGKILL') {
      child.kill(signal);
      return exited;
    },
  };
}
