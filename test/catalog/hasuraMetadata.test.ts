/**
 * The mapping between stored definitions and Hasura's metadata document (src/catalog/hasuraMetadata.ts),
 * without a database: the shape Hasura exports, what passes through untouched, what is ignored with a
 * warning, and where a problem in a document is reported.
 */
import { describe, expect, test } from 'vitest';
import type { TriggerDefinition } from '../../src/catalog/definition.js';
import { documentPath, readMetadataDocument, toEventTriggerConf, toMetadataDocument } from '../../src/catalog/hasuraMetadata.js';

const definition = (extra: Partial<TriggerDefinition> & Record<string, unknown> = {}): TriggerDefinition => ({
  name: 'users_all',
  table: { schema: 'public', name: 'users' },
  webhook: '{{BASE}}/users',
  insert: { columns: '*' },
  update: { columns: ['name'], payload: ['id', 'name'] },
  headers: [],
  retry_conf: { num_retries: 3, interval_sec: 10, timeout_sec: 60 },
  trigger_on_replication: false,
  ...extra,
});

describe('export', () => {
  test("a definition becomes Hasura's EventTriggerConf: operations and enable_manual under definition", () => {
    const conf = toEventTriggerConf(
      definition({ enable_manual: true, headers: [{ name: 'X-A', value_from_env: 'A' }], trigger_on_replication: true }),
    );
    expect(conf).toEqual({
      name: 'users_all',
      definition: { insert: { columns: '*' }, update: { columns: ['name'], payload: ['id', 'name'] }, enable_manual: true },
      retry_conf: { num_retries: 3, interval_sec: 10, timeout_sec: 60 },
      webhook: '{{BASE}}/users',
      headers: [{ name: 'X-A', value_from_env: 'A' }],
      trigger_on_replication: true,
    });
  });

  test('what Hasura omits at its default is omitted: no headers, trigger_on_replication false', () => {
    const conf = toEventTriggerConf(definition());
    expect(Object.keys(conf).sort()).toEqual(['definition', 'name', 'retry_conf', 'webhook']);
  });

  test('any other field of a definition passes through as is, at the top of the conf', () => {
    const later = {
      request_transform: { version: 2, template_engine: 'Kriti', body: { action: 'remove' } },
      cleanup_config: {
        schedule: '0 0 * * *',
        clear_older_than: 24,
        batch_size: 10000,
        timeout: 60,
        clean_invocation_logs: false,
        paused: false,
      },
    };
    const conf = toEventTriggerConf(
      definition({ ...(later as Partial<TriggerDefinition>), stringify_numeric_types: true, some_future_field: [1, 2] }),
    );
    expect(conf).toMatchObject({ ...later, stringify_numeric_types: true, some_future_field: [1, 2] });
    expect(conf.definition).not.toHaveProperty('request_transform');
  });

  test('a document of version 3: one source, tables sorted, their triggers sorted by name', () => {
    const doc = toMetadataDocument(
      [
        { definition: definition({ name: 'b' }), table: { schema: 'public', name: 'users' } },
        { definition: definition({ name: 'a' }), table: { schema: 'public', name: 'users' } },
        { definition: definition({ name: 'c' }), table: { schema: 'app', name: 'orders' } },
      ],
      'default',
    ) as any;
    expect(doc.version).toBe(3);
    expect(doc.sources).toHaveLength(1);
    expect(doc.sources[0]).toMatchObject({ name: 'default', kind: 'postgres' });
    // The connection is named, never given: no secret leaves with an export.
    expect(doc.sources[0].configuration).toEqual({ connection_info: { database_url: { from_env: 'HASURA_GRAPHQL_DATABASE_URL' } } });
    expect(doc.sources[0].tables.map((t: any) => [t.table, t.event_triggers.map((e: any) => e.name)])).toEqual([
      [{ name: 'orders', schema: 'app' }, ['c']],
      [{ name: 'users', schema: 'public' }, ['a', 'b']],
    ]);
  });
});

describe('import', () => {
  const conf = (name: string, extra: Record<string, unknown> = {}) => ({
    name,
    definition: { enable_manual: false, insert: { columns: '*' } },
    retry_conf: { num_retries: 0, interval_sec: 10, timeout_sec: 60 },
    webhook: 'http://127.0.0.1:9/hook',
    ...extra,
  });

  test('version 3: the triggers of the served source, as create_event_trigger args', () => {
    const doc = {
      version: 3,
      sources: [
        { name: 'default', kind: 'postgres', tables: [{ table: { schema: 'public', name: 'users' }, event_triggers: [conf('t1')] }] },
      ],
    };
    const { triggers, warnings } = readMetadataDocument(doc, 'default', '$.args.metadata');
    expect(warnings).toEqual([]);
    expect(triggers).toEqual([
      {
        name: 't1',
        path: '$.args.metadata.sources[0].tables[0].event_triggers[0]',
        tablePath: '$.args.metadata.sources[0].tables[0].table',
        conf: conf('t1'),
        args: {
          name: 't1',
          table: { schema: 'public', name: 'users' },
          enable_manual: false,
          insert: { columns: '*' },
          retry_conf: { num_retries: 0, interval_sec: 10, timeout_sec: 60 },
          webhook: 'http://127.0.0.1:9/hook',
        },
      },
    ]);
  });

  test('keys of a conf the mapping does not know reach create_event_trigger untouched', () => {
    const doc = { version: 3, sources: [{ name: 'default', tables: [{ table: 'users', event_triggers: [conf('t', { future: 1 })] }] }] };
    expect(readMetadataDocument(doc, 'default', '$').triggers[0]!.args).toMatchObject({ future: 1, table: 'users' });
  });

  test('versions 1 and 2: the tables of the one database', () => {
    for (const version of [undefined, 1, 2]) {
      const doc = {
        ...(version ? { version } : {}),
        tables: [{ table: { schema: 'public', name: 'users' }, event_triggers: [conf('t1')] }],
      };
      expect(readMetadataDocument(doc, 'default', '$.args').triggers.map((t) => t.path)).toEqual(['$.args.tables[0].event_triggers[0]']);
    }
  });

  test('what is not served is ignored with a warning, one per place; empty parts say nothing', () => {
    const doc = {
      version: 3,
      sources: [
        {
          name: 'default',
          kind: 'postgres',
          configuration: { connection_info: { database_url: 'postgres://elsewhere' } },
          functions: [{ function: { schema: 'public', name: 'search' } }],
          tables: [
            {
              table: { schema: 'public', name: 'users' },
              select_permissions: [{ role: 'user', permission: { columns: '*', filter: {} } }],
              object_relationships: [],
              event_triggers: [conf('t1')],
            },
          ],
        },
        { name: 'analytics', kind: 'postgres', tables: [{ table: 'facts', event_triggers: [conf('t2')] }] },
        { name: 'mssql', kind: 'mssql', tables: [] },
      ],
      actions: [{ name: 'login' }],
      remote_schemas: [],
      custom_types: { objects: [{ name: 'Token' }] },
    };
    const { triggers, warnings } = readMetadataDocument(doc, 'default', '$.args.metadata');
    expect(triggers.map((t) => t.name)).toEqual(['t1']);
    expect(warnings).toEqual([
      {
        code: 'ignored-metadata',
        type: 'metadata',
        name: 'metadata',
        message: '"actions", "custom_types": not served by pg-event-triggers, ignored',
      },
      { code: 'ignored-metadata', type: 'source', name: 'default', message: '"functions": not served by pg-event-triggers, ignored' },
      {
        code: 'ignored-metadata',
        type: 'table',
        name: 'public.users',
        message: '"select_permissions": not served by pg-event-triggers, ignored',
      },
      expect.objectContaining({ type: 'source', name: 'analytics', message: expect.stringMatching(/not served by this daemon/) }),
      expect.objectContaining({ type: 'source', name: 'mssql', message: expect.stringMatching(/not served by this daemon/) }),
    ]);
  });

  test("SOURCE_NAME's source is served too; a document none of whose sources is served is refused", () => {
    const doc = { version: 3, sources: [{ name: 'main', tables: [{ table: 'users', event_triggers: [conf('t1')] }] }] };
    expect(readMetadataDocument(doc, 'main', '$').triggers).toHaveLength(1);
    expect(() => readMetadataDocument(doc, 'default', '$.args.metadata')).toThrow(
      expect.objectContaining({ code: 'not-exists', path: '$.args.metadata.sources', message: expect.stringMatching(/SOURCE_NAME/) }),
    );
    // A served name of a kind this daemon does not serve is not served.
    const mssql = {
      version: 3,
      sources: [
        { name: 'default', kind: 'mssql', tables: [] },
        { name: 'main', tables: [] },
      ],
    };
    expect(readMetadataDocument(mssql, 'main', '$').warnings).toEqual([
      expect.objectContaining({ name: 'default', message: expect.stringMatching(/^source "default" is of kind "mssql"/) }),
    ]);
    // No sources at all is a document with no triggers: nothing to refuse.
    expect(readMetadataDocument({ version: 3, sources: [] }, 'default', '$').triggers).toEqual([]);
  });

  test("refusals at their place in the document, in Hasura's words where it has them", () => {
    const one = (tables: unknown) => ({ version: 3, sources: [{ name: 'default', tables }] });
    const cases: Array<[unknown, { code: string; path: string; message?: RegExp }]> = [
      ['not an object', { code: 'parse-failed', path: '$m' }],
      [{ version: 4 }, { code: 'parse-failed', path: '$m.version' }],
      [{ version: 3 }, { code: 'parse-failed', path: '$m', message: /key "sources" not found/ }],
      [one({}), { code: 'parse-failed', path: '$m.sources[0].tables' }],
      [one([{ event_triggers: [] }]), { code: 'parse-failed', path: '$m.sources[0].tables[0]', message: /key "table" not found/ }],
      [
        one([{ table: 'users', event_triggers: [{ definition: {} }] }]),
        { code: 'parse-failed', path: '$m.sources[0].tables[0].event_triggers[0]' },
      ],
      [
        one([{ table: 'users', event_triggers: [conf('t', { definition: 'insert' })] }]),
        { code: 'parse-failed', path: '$m.sources[0].tables[0].event_triggers[0].definition' },
      ],
      [
        one([{ table: 'users' }, { table: { schema: 'public', name: 'users' } }]),
        {
          code: 'parse-failed',
          path: '$m.sources[0].tables',
          message: /^multiple declarations exist for the following tables: public.users$/,
        },
      ],
      [
        one([
          { table: 'a', event_triggers: [conf('same')] },
          { table: 'b', event_triggers: [conf('same')] },
        ]),
        { code: 'not-supported', path: '$m', message: /^Event trigger with duplicate names not allowed: "same"$/ },
      ],
    ];
    for (const [doc, expected] of cases) {
      let caught: any;
      try {
        readMetadataDocument(doc, 'default', '$m');
      } catch (error) {
        caught = error;
      }
      expect(caught, JSON.stringify(doc)).toMatchObject({ code: expected.code, path: expected.path });
      if (expected.message) expect(caught.message).toMatch(expected.message);
    }
  });

  test("a create_event_trigger refusal is moved to the document's keys: definition, table", () => {
    const doc = { version: 3, sources: [{ name: 'default', tables: [{ table: 'users', event_triggers: [conf('t')] }] }] };
    const [trigger] = readMetadataDocument(doc, 'default', '$m').triggers;
    const at = trigger!.path;
    expect(documentPath(trigger!, at, `${at}.insert.columns[0]`)).toBe(`${at}.definition.insert.columns[0]`);
    expect(documentPath(trigger!, at, `${at}.enable_manual`)).toBe(`${at}.definition.enable_manual`);
    expect(documentPath(trigger!, at, `${at}.table.name`)).toBe('$m.sources[0].tables[0].table.name');
    expect(documentPath(trigger!, at, `${at}.retry_conf.num_retries`)).toBe(`${at}.retry_conf.num_retries`);
    expect(documentPath(trigger!, at, at)).toBe(at);
  });
});
