/**
 * docs/api.md against the API it documents: every operation the API dispatches has a curl example of its
 * own, and every curl example is a request the real API parses (run in the page's order on a fresh
 * database, with the table the page assumes): the examples may name things that do not exist, but never
 * with a shape the API refuses as malformed. The GET examples (the metrics) answer 200.
 */
import { readFile } from 'node:fs/promises';
import { request } from 'undici';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { OPERATIONS } from '../src/api/operations/index.js';
import { startApi, type ApiHarness } from './support/apiHarness.js';

interface Example {
  path: string;
  body: string;
  line: number;
}

let api: ApiHarness;
let examples: Example[];
/** curl examples without a body: GETs. */
let gets: Array<{ path: string; line: number }>;
/** Lines of the page that start a curl command, whatever their form. */
let curlLines: number;

beforeAll(async () => {
  const doc = await readFile(new URL('../docs/api.md', import.meta.url), 'utf8');
  examples = [...doc.matchAll(/^curl -s localhost:8080(\/\S*)((?: -H '[^']*')*) -d '([^']*)'/gm)].map((m) => ({
    path: m[1]!,
    body: m[3]!,
    line: doc.slice(0, m.index).split('\n').length,
  }));
  gets = [...doc.matchAll(/^curl -s localhost:8080(\/\S*)(?: -H '[^']*')*$/gm)].map((m) => ({
    path: m[1]!,
    line: doc.slice(0, m.index).split('\n').length,
  }));
  curlLines = (doc.match(/^curl /gm) ?? []).length;
  api = await startApi({ env: { EVENT_WEBHOOK_HEADER: 'a header value' }, metrics: true });
  // "The examples assume ... a table"
  await api.pool.query('create table users (id bigint primary key, username text, real_name text)');
});
afterAll(() => api?.close());

/** The operation a request names: {"type"} on the Hasura endpoints, {"method"} on /rpc. */
function operationOf(example: Example): string {
  const body = JSON.parse(example.body) as { type?: string; method?: string };
  const name = (example.path === '/rpc' ? body.method : body.type) ?? '';
  return name.replace(/^pg_/, '');
}

test('docs/api.md has a curl example for every operation the API dispatches, and for bulk', () => {
  // Every curl command of the page was read as an example (none in a form this test would skip).
  expect(examples.length).toBeGreaterThan(5);
  expect(examples.length + gets.length).toBe(curlLines);
  for (const example of examples) expect(() => JSON.parse(example.body), `docs/api.md:${example.line}`).not.toThrow();
  const documented = new Set(examples.map(operationOf));
  for (const name of [...Object.keys(OPERATIONS), 'bulk']) expect(documented.has(name), `curl example for ${name}`).toBe(true);
  for (const name of documented) expect([...Object.keys(OPERATIONS), 'bulk'], `docs/api.md documents ${name}`).toContain(name);
});

test('every curl example in docs/api.md is a request the API parses', async () => {
  for (const example of examples) {
    const where = `docs/api.md:${example.line} ${example.body.slice(0, 80)}`;
    const res = await api.post(example.path, example.body);
    if (example.path === '/rpc') {
      expect(res.status, where).toBe(200);
      // Parse error, invalid request, method not found, invalid params: the example's shape is wrong.
      expect([-32700, -32600, -32601, -32602], where).not.toContain(res.json?.error?.code);
    } else {
      expect([200, 400], where).toContain(res.status);
      expect(res.json?.code, `${where}: ${res.text}`).not.toBe('parse-failed');
    }
  }
});

test('every GET curl example in docs/api.md answers 200', async () => {
  expect(gets.length).toBeGreaterThan(0);
  for (const example of gets) {
    const res = await request(`${api.url}${example.path}`);
    expect(res.statusCode, `docs/api.md:${example.line}`).toBe(200);
    await res.body.dump();
  }
});
