/**
 * Reading a Hasura project from disk (src/import/hasuraProject.ts) into the metadata document the Hasura
 * CLI would send, in each layout it writes; and a clear error for what cannot be read.
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { readMetadataDocument } from '../../src/catalog/hasuraMetadata.js';
import { readHasuraProject } from '../../src/import/hasuraProject.js';
import { CONFIG_V2, CONFIG_V3, writeProject } from './projectFixtures.js';

const made: string[] = [];
const project = (files: Record<string, string>) => {
  const root = writeProject(files);
  made.push(root);
  return root;
};
afterAll(() => made.forEach((root) => rmSync(root, { recursive: true, force: true })));

const triggerNames = (doc: Record<string, unknown>) =>
  readMetadataDocument(doc, undefined, '$').triggers.map((t) => `${t.name}@${JSON.stringify(t.args.table)}`);

describe('a config v3 project (Hasura 2)', () => {
  test('from its root or its metadata directory: sources with their tables included, both include forms', () => {
    const root = project(CONFIG_V3);
    for (const at of [root, path.join(root, 'metadata')]) {
      const read = readHasuraProject(at);
      expect(read.document.version).toBe(3);
      expect(triggerNames(read.document)).toEqual([
        'user_changes@{"name":"users","schema":"public"}',
        'order_created@{"name":"orders","schema":"app"}',
      ]);
      expect(read.files.map((f) => path.relative(root, f))).toContain(
        path.join('metadata', 'databases', 'default', 'tables', 'app_orders.yaml'),
      );
      expect(read.description).toMatch(/config v3/);
    }
  });

  test('what the project holds besides event triggers is in the document, for the warnings', () => {
    const { document } = readHasuraProject(project(CONFIG_V3));
    const { warnings } = readMetadataDocument(document, undefined, '$');
    expect(warnings.map((w) => `${w.type} ${w.name}: ${w.message}`)).toEqual([
      'metadata metadata: "remote_schemas": not served by pg-event-triggers, ignored',
      'table public.users: "select_permissions": not served by pg-event-triggers, ignored',
    ]);
  });

  test('an include that names a missing file, or itself, is one clear error naming the files', () => {
    const missing = project({ ...CONFIG_V3, 'metadata/databases/default/tables/tables.yaml': '- "!include nope.yaml"\n' });
    expect(() => readHasuraProject(missing)).toThrow(/cannot read .*nope\.yaml \(included by .*tables\.yaml\)/);
    const loop = project({ ...CONFIG_V3, 'metadata/databases/default/tables/tables.yaml': '- "!include tables.yaml"\n' });
    expect(() => readHasuraProject(loop)).toThrow(/tables\.yaml includes itself/);
    const broken = project({ ...CONFIG_V3, 'metadata/databases/default/tables/app_orders.yaml': 'table: [unclosed\n' });
    expect(() => readHasuraProject(broken)).toThrow(/app_orders\.yaml is not valid YAML/);
  });
});

describe('older layouts', () => {
  test('config v2 (Hasura 1): metadata/tables.yaml', () => {
    const read = readHasuraProject(project(CONFIG_V2));
    expect(read.document.version).toBe(2);
    expect(triggerNames(read.document)).toEqual([
      'user_changes@{"name":"users","schema":"public"}',
      'order_created@{"name":"orders","schema":"app"}',
    ]);
  });

  test("config v1: migrations/metadata.yaml, one file; and any single file: an export (JSON, or version 2's wrapper), a list of tables", () => {
    const tables = [
      { table: 'users', event_triggers: [{ name: 't', definition: { insert: { columns: '*' } }, retry_conf: {}, webhook: 'http://x' }] },
    ];
    const v1 = project({ 'migrations/metadata.yaml': `tables: ${JSON.stringify(tables)}\nremote_schemas: []\n` });
    expect(triggerNames(readHasuraProject(v1).document)).toEqual(['t@"users"']);
    const exported = project({
      'export.json': JSON.stringify({ resource_version: 4, metadata: { version: 3, sources: [{ name: 'default', tables }] } }),
    });
    expect(triggerNames(readHasuraProject(path.join(exported, 'export.json')).document)).toEqual(['t@"users"']);
    const list = project({ 'tables.yaml': JSON.stringify(tables) });
    expect(readHasuraProject(path.join(list, 'tables.yaml')).document).toEqual({ version: 2, tables });
  });

  test('a folder with no metadata, or no such path: one line saying what was expected', () => {
    expect(() => readHasuraProject(project({ 'README.md': 'hi' }))).toThrow(
      /no Hasura metadata found in .*: expected a project \(with metadata\/\)/,
    );
    expect(() => readHasuraProject('/nonexistent/pget-project')).toThrow(/does not exist/);
    const mismatched = project({ ...CONFIG_V3, 'metadata/version.yaml': 'version: 2\n' });
    expect(() => readHasuraProject(mismatched)).toThrow(/says version 2, but the directory is laid out as config v3/);
  });
});
