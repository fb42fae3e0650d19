/**
 * The console's files as the daemon serves them, over real HTTP: the page and its scripts need no admin
 * secret (they hold no data) while every API call still does; the browser guard refuses other sites'
 * requests for them as for the API; their headers keep the page from being framed or loading anything
 * but its own files; nothing outside the listed files is reachable; and an unbuilt console says how to
 * build it.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import Fastify from 'fastify';
import { loadConsoleAssets, packageRoot } from '../../src/console/assets.js';
import { registerConsole } from '../../src/console/routes.js';
import { startApi, type ApiHarness } from '../support/apiHarness.js';
import { checkConsoleBuilt } from '../support/consoleBuild.js';

let api: ApiHarness;

beforeAll(async () => {
  await checkConsoleBuilt();
  api = await startApi({ adminSecret: 's3cr3t' });
});
afterAll(() => api?.close());

async function get(pathname: string, headers: Record<string, string> = {}) {
  const res = await request(`${api.url}${pathname}`, { method: 'GET', headers });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

describe('the console files', () => {
  test('are served without the admin secret, the API still asks for it', async () => {
    for (const pathname of [
      '/console',
      '/console/',
      '/console/app.js',
      '/console/views/event.js',
      '/console/console.css',
      '/console/favicon.svg',
    ]) {
      const res = await get(pathname, { 'sec-fetch-site': 'same-origin' });
      expect(res.status, pathname).toBe(200);
    }
    const page = await get('/console', { 'sec-fetch-site': 'none' });
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.text).toContain('<script type="module" src="/console/app.js"></script>');
    expect((await get('/console/app.js')).headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect((await get('/console/console.css')).headers['content-type']).toBe('text/css; charset=utf-8');

    const call = await request(`${api.url}/v1/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'sec-fetch-site': 'same-origin', origin: api.url },
      body: JSON.stringify({ type: 'get_event_triggers', args: {} }),
    });
    expect(call.statusCode).toBe(401);
    expect(await call.body.json()).toMatchObject({ code: 'access-denied' });
    // Only GET and HEAD of the files are exempt: anything else under /console is the API's, and asks.
    const post = await request(`${api.url}/console`, { method: 'POST', body: '{}' });
    expect(post.statusCode).toBe(401);
    await post.body.dump();
  });

  test('carry headers that forbid framing, inline script and any other origin', async () => {
    const res = await get('/console');
    const csp = res.headers['content-security-policy'] as string;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(res.headers).toMatchObject({ 'x-frame-options': 'DENY', 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer' });
  });

  test("are refused to other sites' requests, as the API is", async () => {
    const crossSite = await get('/console/app.js', { 'sec-fetch-site': 'cross-site' });
    expect(crossSite.status).toBe(403);
    expect(JSON.parse(crossSite.text)).toMatchObject({ code: 'access-denied' });
    const otherOrigin = await get('/console', { origin: 'http://evil.example' });
    expect(otherOrigin.status).toBe(403);
  });

  test('are only the listed files: other paths are not found, the file system is not reachable', async () => {
    for (const pathname of [
      '/console/nope.js',
      '/console/../package.json',
      '/console/%2e%2e/package.json',
      '/console/app.ts',
      '/console/index.html',
      '/console/app.js.map',
    ]) {
      const res = await get(pathname);
      // 401 where the client resolved the dots first (/package.json: the API's, which asks for the secret).
      expect([401, 404], pathname).toContain(res.status);
      expect(res.text, pathname).not.toContain('"devDependencies"');
    }
  });
});

describe('an unbuilt console', () => {
  let root: string;
  beforeAll(async () => {
    // A package root with the page's sources but no compiled scripts (dist/console missing).
    root = await mkdtemp(path.join(tmpdir(), 'pget-console-'));
    const web = path.join(root, 'src/console/web');
    await mkdir(web, { recursive: true });
    for (const name of ['index.html', 'console.css', 'favicon.svg']) {
      await writeFile(path.join(web, name), await readFile(path.join(packageRoot(), 'src/console/web', name)));
    }
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  test('says how to build it, and the daemon logs it', async () => {
    const lines: string[] = [];
    const log = pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) });
    const app = Fastify();
    registerConsole(app, log, loadConsoleAssets(root));
    const res = await app.inject({ method: 'GET', url: '/console' });
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('The console is not built');
    expect(res.body).toContain('npm run build');
    expect((await app.inject({ method: 'GET', url: '/console/app.js' })).statusCode).toBe(404);
    expect(lines.join('')).toContain('the console is not built');
    await app.close();
  });
});
