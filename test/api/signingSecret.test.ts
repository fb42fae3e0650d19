/**
 * signing_secret on create_event_trigger: the two forms of a header value, refused with a clear error
 * that never quotes the secret (and nothing changed) when it is not a Standard Webhooks secret, and never
 * answered back where a definition is shown.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, expect, test } from 'vitest';
import { startApi, type ApiHarness } from '../support/apiHarness.js';
import { catalogSnapshot } from '../support/catalogSnapshot.js';

let api: ApiHarness;
const SECRET = `whsec_${randomBytes(32).toString('base64')}`;

beforeAll(async () => {
  api = await startApi({ env: { HOOK_SECRET: SECRET, NOT_A_SECRET: 'swordfish-swordfish-swordfish' } });
  await api.pool.query('create table public.items (id bigint primary key)');
});
afterAll(() => api?.close());
beforeEach(async () => {
  await api.query('delete_event_trigger', { name: 'signed' });
});

const trigger = (signing_secret: unknown, table = 'items') => ({
  name: 'signed',
  table,
  webhook: 'http://127.0.0.1:9/hook',
  insert: { columns: '*' },
  signing_secret,
});

test.each([
  ['no whsec_ prefix', { value: 'c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0' }, /must start with "whsec_"/],
  ['not base64, and a space in it', { value: 'whsec_not base64!' }, /secret 1 of 2 must be "whsec_" followed by standard, padded base64/],
  ['base64 with bad characters', { value: 'whsec_c2VjcmV0*' }, /standard, padded base64/],
  ['too short a key', { value: `whsec_${randomBytes(16).toString('base64')}` }, /must encode 24 to 64 bytes \(it encodes 16\)/],
  [
    'the second of a pair malformed',
    { value: `${SECRET} whsec_abc` },
    /secret 2 of 2 must be "whsec_" followed by standard, padded base64/,
  ],
  ['an empty value', { value: ' ' }, /must not be empty/],
  ['both forms', { value: SECRET, value_from_env: 'HOOK_SECRET' }, /a signing_secret is/],
])('refuses %s: parse-failed, the secret not quoted, nothing changed', async (_, secret, message) => {
  const before = await catalogSnapshot(api.pool);
  const res = await api.query('create_event_trigger', trigger(secret));
  expect(res.status).toBe(400);
  expect(res.json.code).toBe('parse-failed');
  expect(res.json.path).toMatch(/^\$\.args\.signing_secret/);
  expect(res.json.error).toMatch(message);
  if ('value' in secret) expect(res.text).not.toContain(secret.value.slice(6, 20) || '\u0000');
  expect(await catalogSnapshot(api.pool)).toEqual(before);
});

test('a variable that is not set, or holds no secret, is invalid-configuration naming the variable only', async () => {
  const before = await catalogSnapshot(api.pool);
  const unset = await api.query('create_event_trigger', trigger({ value_from_env: 'UNSET_SECRET' }));
  expect(unset.json).toEqual({
    path: '$.args',
    code: 'invalid-configuration',
    error: 'environment variable "UNSET_SECRET" (the signing_secret of event trigger "signed") is not set',
  });
  const wrong = await api.query('create_event_trigger', trigger({ value_from_env: 'NOT_A_SECRET' }));
  expect(wrong.json).toMatchObject({ path: '$.args', code: 'invalid-configuration' });
  expect(wrong.text).not.toContain('swordfish');
  expect(await catalogSnapshot(api.pool)).toEqual(before);
});

test('a definition shown in an answer keeps the variable name of a secret from the environment, never a value', async () => {
  await api.pool.query('create table public.doomed (id int)');
  expect((await api.query('create_event_trigger', trigger({ value: `${SECRET} ${SECRET}` }, 'doomed'))).json).toEqual({
    message: 'success',
  });
  await api.query('create_event_trigger', { ...trigger({ value_from_env: 'HOOK_SECRET' }, 'doomed'), name: 'from_env' });
  await api.pool.query('drop table public.doomed');
  const report = await api.query('get_inconsistent_metadata', {});
  const shown = Object.fromEntries(
    (report.json.inconsistent_objects as Array<{ definition: { name: string; signing_secret: unknown } }>).map((o) => [
      o.definition.name,
      o.definition.signing_secret,
    ]),
  );
  expect(shown).toEqual({ signed: { value: '<redacted>' }, from_env: { value_from_env: 'HOOK_SECRET' } });
  expect(report.text).not.toContain(SECRET.slice(6));
  await api.query('delete_event_trigger', { name: 'from_env' });
});
