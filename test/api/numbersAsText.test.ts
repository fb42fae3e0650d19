/**
 * stringify_numeric_types (migration 9): bigint, numeric, double precision and money values captured as
 * JSON strings, as Hasura sends them with HASURA_GRAPHQL_STRINGIFY_NUMERIC_TYPES (its data_format test
 * expects "id": "50755254975729665"); JSON numbers with every digit otherwise. Checked on the payloads
 * PostgreSQL captures, as text: what a webhook receives is that text.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { isLossless, parseJson } from '../../src/api/json.js';
import { migrate } from '../../src/db/migrate.js';
import { migrations } from '../../src/sql/migrations/index.js';
import { withSchema } from '../../src/sql/schemaText.js';
import { startApi, type ApiHarness } from '../support/apiHarness.js';

let api: ApiHarness;
const WEBHOOK = 'http://127.0.0.1:9/hook';

beforeAll(async () => {
  api = await startApi({ stringifyNumericTypes: true });
  await api.pool.query(`create table nums (
    id bigint primary key, small int, ratio numeric, approx double precision, price money, label text, ids bigint[], whole real)`);
});
afterAll(() => api?.close());

/** The payload text of each event of a trigger, oldest first. */
async function payloads(trigger: string): Promise<string[]> {
  const { rows } = await api.pool.query(
    `select payload::text as p from event_triggers.event_log where trigger_name = $1 order by created_at, id`,
    [trigger],
  );
  return rows.map((r) => r.p);
}

const create = (args: Record<string, unknown>) =>
  api.query('create_event_trigger', { table: 'nums', webhook: WEBHOOK, insert: { columns: '*' }, ...args });

describe('stringify_numeric_types', () => {
  test("true: bigint, numeric, double precision as strings of PostgreSQL's text; other types as before", async () => {
    expect(
      (await create({ name: 'as_text', stringify_numeric_types: true, update: { columns: '*' }, delete: { columns: '*' } })).status,
    ).toBe(200);
    await api.pool.query(`insert into nums values (50755254975729665, 7, 1.50, 0.1, 12.5, 'a', '{1,2}', 1.5)`);
    await api.pool.query(`insert into nums (id) values (1)`);
    await api.pool.query(`update nums set ratio = 2 where id = 50755254975729665`);
    const [insert, nulls, update] = (await payloads('as_text')).map((p) => JSON.parse(p));
    expect(insert.data.new).toEqual({
      id: '50755254975729665',
      small: 7,
      ratio: '1.50',
      approx: '0.1',
      price: '$12.50',
      label: 'a',
      // Arrays are not numbers: as Hasura, they keep their JSON form.
      ids: [1, 2],
      whole: 1.5,
    });
    // Nulls stay null.
    expect(nulls.data.new).toMatchObject({ id: '1', ratio: null, approx: null, price: null });
    expect(update.data.old.ratio).toBe('1.50');
    expect(update.data.new.ratio).toBe('2');
    await api.query('delete_event_trigger', { name: 'as_text' });
    await api.pool.query('delete from nums');
  });

  test('false: JSON numbers with every digit, as PostgreSQL writes them', async () => {
    await create({ name: 'as_numbers', stringify_numeric_types: false });
    await api.pool.query(`insert into nums (id, ratio, approx) values (50755254975729665, 1.50, 0.1)`);
    const [text] = await payloads('as_numbers');
    expect(text).toContain('"id": 50755254975729665');
    expect(text).toContain('"ratio": 1.50');
    expect(text).toContain('"approx": 0.1');
    await api.query('delete_event_trigger', { name: 'as_numbers' });
    await api.pool.query('delete from nums');
  });

  test("omitted: the daemon's STRINGIFY_NUMERIC_TYPES decides, and the definition says what it decided", async () => {
    await create({ name: 'by_default' });
    const { rows } = await api.pool.query(`select definition from event_triggers.event_triggers where name = 'by_default'`);
    expect(rows[0].definition.stringify_numeric_types).toBe(true);
    await api.pool.query(`insert into nums (id) values (50755254975729665)`);
    expect((await payloads('by_default'))[0]).toContain('"id": "50755254975729665"');
    await api.query('delete_event_trigger', { name: 'by_default' });
    await api.pool.query('delete from nums');
  });

  test('a column added or retyped after the trigger was made is rendered by its type when the row changes', async () => {
    await api.pool.query('create table grows (id int primary key)');
    await api.query('create_event_trigger', {
      name: 'grows_ev',
      table: 'grows',
      webhook: WEBHOOK,
      insert: { columns: '*' },
      stringify_numeric_types: true,
    });
    await api.pool.query('alter table grows add column big bigint');
    await api.pool.query('insert into grows values (1, 9007199254740993)');
    await api.pool.query('alter table grows alter column id type bigint');
    await api.pool.query('insert into grows values (2, 3)');
    const [first, second] = (await payloads('grows_ev')).map((p) => JSON.parse(p).data.new);
    expect(first).toEqual({ id: 1, big: '9007199254740993' });
    expect(second).toEqual({ id: '2', big: '3' });
  });

  test('a trigger on a partitioned table: the partition holding the row is looked up by column name', async () => {
    await api.pool.query(`create table parted (region int, amount bigint) partition by list (region)`);
    await api.pool.query(`create table parted_1 partition of parted for values in (1)`);
    await api.query('create_event_trigger', {
      name: 'parted_ev',
      table: 'parted',
      webhook: WEBHOOK,
      insert: { columns: '*' },
      stringify_numeric_types: true,
    });
    await api.pool.query('insert into parted values (1, 42)');
    expect(JSON.parse((await payloads('parted_ev'))[0]!).data.new).toEqual({ region: 1, amount: '42' });
  });
});

describe('migration 9 on a catalog made by an earlier version', () => {
  let pool: pg.Pool;
  beforeAll(() => {
    pool = new pg.Pool({ connectionString: api.db.url, max: 2 });
  });
  afterAll(() => pool?.end());

  test('rebuilds every capture from its definition: numbers stay numbers, a definition asking for text gets text', async () => {
    const schema = 'before_nine';
    await pool.query(withSchema('create schema :SCHEMA', schema));
    await pool.query(
      withSchema(
        'create table :SCHEMA.migrations (version integer primary key, name text not null, applied_at timestamptz not null default now())',
        schema,
      ),
    );
    for (const m of migrations.filter((m) => m.version <= 5)) {
      await pool.query(withSchema(m.sql, schema));
      await pool.query(withSchema('insert into :SCHEMA.migrations (version, name) values ($1, $2)', schema), [m.version, m.name]);
    }
    await pool.query('create table legacy_nums (id bigint primary key)');
    for (const [name, flag] of [
      ['plain_ev', undefined],
      ['text_ev', true],
    ] as const) {
      const definition = {
        name,
        table: { schema: 'public', name: 'legacy_nums' },
        webhook: WEBHOOK,
        insert: { columns: '*' },
        headers: [],
        retry_conf: { num_retries: 0, interval_sec: 10, timeout_sec: 60 },
        trigger_on_replication: false,
        ...(flag ? { stringify_numeric_types: flag } : {}),
      };
      await pool.query(
        withSchema(
          'insert into :SCHEMA.event_triggers (name, schema_name, table_name, table_oid, definition) values ($1, $2, $3, $4::regclass, $5)',
          schema,
        ),
        [name, 'public', 'legacy_nums', 'legacy_nums', JSON.stringify(definition)],
      );
      await pool.query(withSchema(`select :SCHEMA.install_capture($1, 'legacy_nums'::regclass, 'INSERT', null, null, '', false)`, schema), [
        name,
      ]);
    }
    expect(await migrate(pool, schema)).toMatchObject({ applied: migrations.filter((m) => m.version > 5).map((m) => m.version) });
    await pool.query('insert into legacy_nums values (50755254975729665)');
    const { rows } = await pool.query(
      withSchema('select trigger_name, payload::text as p from :SCHEMA.event_log order by trigger_name', schema),
    );
    // A number kept whole (parsed without loss) for one, a string for the other.
    const ids = rows.map((r) => [r.trigger_name, (parseJson(r.p) as any).data.new.id]);
    expect(ids.map(([name, id]) => [name, isLossless(id) ? `number ${id.value}` : id])).toEqual([
      ['plain_ev', 'number 50755254975729665'],
      ['text_ev', '50755254975729665'],
    ]);
    // The resource version starts at 1 (no change through the API yet).
    const version = await pool.query(withSchema('select resource_version from :SCHEMA.catalog_version', schema));
    expect(Number(version.rows[0].resource_version)).toBe(1);
  });
});
