/**
 * Runs in every test file before its own code (vitest setupFiles): daemons started as processes
 * (daemonProcess.ts) never outlive the test, or the file, that started them, even when it fails half-way
 * and its own cleanup does not run. The file's own afterEach and afterAll hooks run first (vitest runs
 * "after" hooks in reverse order), so a test's graceful stop still comes before this.
 */
import { afterAll, afterEach, beforeEach } from 'vitest';
import { killDaemonsSince, markDaemons } from './daemonProcess.js';

let mark = Number.POSITIVE_INFINITY;

beforeEach(() => {
  mark = markDaemons();
});

afterEach(async () => {
  await killDaemonsSince(mark);
  mark = markDaemons();
});

afterAll(async () => {
  await killDaemonsSince(0);
});
