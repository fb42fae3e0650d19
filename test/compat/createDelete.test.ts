/**
 * Hasura's create/delete tests, ported: test_events.py::TestEventCreateAndDelete of hasura/graphql-engine
 * and its fixtures in server/tests-py/queries/event_triggers/create-delete/. Requests and expected
 * answers are Hasura's (its YAML's `query` and `response`), over the same endpoint (/v1/query); the
 * track_table and untrack_table steps are left out, this daemon having no table tracking.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startApi, type ApiHarness } from '../support/apiHarness.js';
import { catalogSnapshot } from '../support/catalogSnapshot.js';

let api: ApiHarness;

beforeAll(async () => {
  api = await startApi({ env: { EVENT_WEBHOOK_HANDLER: 'http://127.0.0.1:5592' } });
  // create-delete/setup.yaml
  await api.pool.query('create schema hge_tests; create table hge_tests.test_t1 (c1 int, c2 text)');
});
afterAll(() => api?.close());

const table = { schema: 'hge_tests', name: 'test_t1' };

describe('TestEventCreateAndDelete', () => {
  test('test_create_delete (create_and_delete.yaml): create then drop in one bulk, status 200', async () => {
    const res = await api.post('/v1/query', {
      type: 'bulk',
      args: [
        {
          type: 'create_event_trigger',
          args: {
            name: 't1_1',
            table,
            insert: { columns: '*' },
            update: { columns: '*' },
            delete: { columns: '*' },
            webhook: 'http://127.0.0.1:5592',
          },
        },
        { type: 'delete_event_trigger', args: { name: 't1_1' } },
      ],
    });
    expect(res.status, res.text).toBe(200);
    expect(res.json).toEqual([{ message: 'success' }, { message: 'success' }]);
    const { rows } = await api.pool.query(`select count(*)::int as n from pg_trigger where tgrelid = 'hge_tests.test_t1'::regclass`);
    expect(rows[0].n).toBe(0);
  });

  test('test_create_operation_spec_not_provider_err (create_trigger_operation_specs_not_provided_err.yaml)', async () => {
    const before = await catalogSnapshot(api.pool);
    const res = await api.post('/v1/query', { type: 'create_event_trigger', args: { name: 't1_1', table } });
    expect(res.status).toBe(400);
    expect(res.json).toEqual({
      error: 'atleast one amongst insert/update/delete/enable_manual spec must be provided',
      code: 'parse-failed',
      path: '$',
    });
    expect(await catalogSnapshot(api.pool)).toEqual(before);
  });

  test('create_trigger_illegal_name_err.yaml: the name is refused first, before the missing webhook', async () => {
    const res = await api.post('/v1/query', { type: 'create_event_trigger', args: { name: "bad'name", table, enable_manual: true } });
    expect(res.status).toBe(400);
    expect(res.json).toEqual({ error: 'only alphanumeric and underscore and hyphens allowed for name', code: 'parse-failed', path: '$' });
  });
});

describe('fixtures of earlier versions of test_events.py', () => {
  test('empty_cols/setup.yaml: empty column lists, which Hasura now refuses in its parser', async () => {
    const res = await api.post('/v1/query', {
      type: 'bulk',
      args: [
        {
          type: 'create_event_trigger',
          args: {
            name: 't1_empty',
            table,
            insert: { columns: [] },
            update: { columns: [] },
            delete: { columns: [] },
            webhook: 'http://127.0.0.1:5592',
            retry_conf: { num_retries: 10, interval_sec: 100 },
          },
        },
      ],
    });
    expect(res.json).toEqual({ error: 'found empty column specification', code: 'parse-failed', path: '$.args[0].args' });
  });
});
