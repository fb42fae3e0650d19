import { afterAll, beforeAll, expect, test } from 'vitest';
import { startApi, type ApiHarness } from '../support/apiHarness.js';

let api: ApiHarness;
beforeAll(async () => {
  api = await startApi();
  await api.pool.query('create table public.users (id bigint primary key, name text, meta json)');
});
afterAll(() => api?.close());

test('create, capture insert/update/delete', async () => {
  const res = await api.query('create_event_trigger', {
    name: 'users_all',
    table: { schema: 'public', name: 'users' },
    webhook: 'http://127.0.0.1:1/hook',
    insert: { columns: '*' },
    update: { columns: ['name', 'meta'] },
    delete: { columns: '*', payload: ['id'] },
  });
  expect(res.text).toBe('{"message":"success"}');
  await api.pool.query(`insert into users values (50755254975729665, 'a', '{"x":1}')`);
  await api.pool.query(`update users set name = 'b'`);
  await api.pool.query(`update users set name = 'b'`);
  await api.pool.query(`delete from users`);
  const { rows } = await api.pool.query(`select trigger_name, payload::text from event_triggers.event_log order by created_at`);
  expect(rows).toHaveLength(3);
});
