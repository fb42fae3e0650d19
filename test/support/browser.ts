/**
 * Headless Chromium for the console's tests, driven by playwright-core. The browser is the system's
 * (Debian's chromium package; CHROMIUM_PATH to use another): playwright-core never downloads one. When
 * none is found the tests fail, saying how to install it: a console test that skips is a console nobody
 * tested.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

export const DEFAULT_CHROMIUM = '/usr/bin/chromium';

export function findChromium(): string {
  const candidate = process.env.CHROMIUM_PATH || DEFAULT_CHROMIUM;
  if (!existsSync(candidate)) {
    throw new Error(
      `no Chromium at ${candidate}: the console's browser tests need one. Install Debian's package ` +
        '(apt-get install -y chromium; .ci/run does it), or set CHROMIUM_PATH to a Chromium or Chrome binary.',
    );
  }
  return candidate;
}

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

/**
 * A fresh profile each time, and every feature that would reach the network turned off: the machine
 * running the tests may have none, and a test must not depend on it.
 */
export async function launchBrowser(options: { width?: number; height?: number } = {}): Promise<Browser> {
  const executablePath = findChromium();
  const profile = await mkdtemp(path.join(tmpdir(), 'pget-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    viewport: { width: options.width ?? 1366, height: options.height ?? 768 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    context,
    async close() {
      await context.close().catch(() => undefined);
      await rm(profile, { recursive: true, force: true });
    },
  };
}
