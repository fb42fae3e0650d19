/**
 * Who may read /v1/metrics (and /metrics), as in Hasura: with METRICS_SECRET, Authorization: Bearer with it
 * and nothing else (the admin secret no longer reads them, and the metrics secret opens nothing else);
 * without it, whoever the API admits (the admin secret in either header); with no secret at all, anyone
 * on loopback, and never a web page. Refusals come in Hasura's error shape.
 */
import { request } from 'undici';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { openTestDatabase, startTestDaemon, type DaemonHarness } from '../support/daemonHarness.js';
import { Scrape } from '../support/metricsScrape.js';

const ADMIN = 'admin-secret-of-the-test';
const METRICS = 'metrics-secret-of-the-test';

let database: Awaited<ReturnType<typeof openTestDatabase>>;
let withMetricsSecret: DaemonHarness;
let withAdminSecret: DaemonHarness;
let open: DaemonHarness;

beforeAll(async () => {
  database = await openTestDatabase();
  withMetricsSecret = await startTestDaemon(database.db.url, { env: { ADMIN_SECRET: ADMIN, METRICS_SECRET: METRICS, HOST: '127.0.0.1' } });
  withAdminSecret = await startTestDaemon(database.db.url, { env: { ADMIN_SECRET: ADMIN, HOST: '127.0.0.1' } });
  open = await startTestDaemon(database.db.url);
});
afterAll(async () => {
  await Promise.all([withMetricsSecret, withAdminSecret, open].map((d) => d?.stop()));
  await database?.close();
});

async function get(daemon: DaemonHarness, path: string, headers: Record<string, string> = {}) {
  const res = await request(`${daemon.daemon.url}${path}`, { headers });
  return { status: res.statusCode, type: String(res.headers['content-type']), text: await res.body.text() };
}

const served = (answer: { status: number; type: string; text: string }) => {
  expect(answer.status, answer.text).toBe(200);
  expect(answer.type).toMatch(/^text\/plain; version=0\.0\.4/);
  expect(new Scrape(answer.text).families.get('hasura_event_processed_total')?.type).toBe('COUNTER');
};

test('METRICS_SECRET: only Authorization: Bearer with it reads the metrics, on both paths', async () => {
  for (const path of ['/v1/metrics', '/metrics']) {
    served(await get(withMetricsSecret, path, { authorization: `Bearer ${METRICS}` }));
    expect(JSON.parse((await get(withMetricsSecret, path)).text)).toEqual({
      path: '$',
      error: 'Authorization: Bearer <METRICS_SECRET> required, but not found',
      code: 'access-denied',
    });
    const wrong = await get(withMetricsSecret, path, { authorization: `Bearer ${ADMIN}` });
    expect([wrong.status, JSON.parse(wrong.text)]).toEqual([401, { path: '$', error: 'invalid metrics secret', code: 'access-denied' }]);
    expect((await get(withMetricsSecret, path, { 'x-hasura-admin-secret': ADMIN })).status).toBe(401);
  }
  // The metrics secret reads the metrics and nothing more.
  const res = await request(`${withMetricsSecret.daemon.url}/v1/query`, {
    method: 'POST',
    headers: { authorization: `Bearer ${METRICS}` },
    body: JSON.stringify({ type: 'get_event_logs', args: { name: 'x' } }),
  });
  expect([res.statusCode, await res.body.json()]).toEqual([
    401,
    { path: '$', error: 'invalid x-hasura-admin-secret/x-hasura-access-key', code: 'access-denied' },
  ]);
});

test('without METRICS_SECRET the admin secret reads the metrics, in either header', async () => {
  served(await get(withAdminSecret, '/v1/metrics', { 'x-hasura-admin-secret': ADMIN }));
  served(await get(withAdminSecret, '/metrics', { authorization: `Bearer ${ADMIN}` }));
  const missing = await get(withAdminSecret, '/v1/metrics');
  expect([missing.status, JSON.parse(missing.text)]).toEqual([
    401,
    { path: '$', error: 'x-hasura-admin-secret/x-hasura-access-key required, but not found', code: 'access-denied' },
  ]);
  expect((await get(withAdminSecret, '/v1/metrics', { 'x-hasura-admin-secret': 'guess' })).status).toBe(401);
});

test('with no secret the metrics are open on loopback, and refused to web pages', async () => {
  served(await get(open, '/v1/metrics'));
  const page = await get(open, '/v1/metrics', { origin: 'http://evil.example' });
  expect(page.status).toBe(403);
  expect(JSON.parse(page.text)).toMatchObject({ code: 'access-denied' });
  const rebound = await get(open, '/v1/metrics', { host: 'evil.example:8080' });
  expect(rebound.status).toBe(403);
});
