/**
 * Hasura's metadata document, for its event-trigger part: stored definitions out (export_metadata) and
 * a document's triggers in (replace_metadata, the import command). Pure: no database, no HTTP.
 *
 * Format version 3 holds `sources[].tables[].event_triggers[]`; versions 1 and 2 (Hasura 1, and the CLI's
 * config v2 projects) hold `tables[]` of the one database. A trigger is Hasura's EventTriggerConf: its
 * operations and enable_manual under `definition`, everything else beside `name`. The mapping names only
 * what moves (the operations, the table, what Hasura omits when it is the default): any other key of a
 * stored definition is exported as is, and any other key of a document is handed to create_event_trigger
 * as is, so fields added to definitions later round-trip without a change here.
 */
import { ApiError, jsonPath } from '../api/errors.js';
import { OPERATIONS, type TriggerDefinition } from './definition.js';

/** The keys of a definition that Hasura keeps under `definition`. */
const DEFINITION_KEYS = [...OPERATIONS, 'enable_manual'] as const;

/** Kinds of source this daemon can serve: PostgreSQL, and Citus (PostgreSQL with an extension). */
const SERVED_KINDS = new Set(['postgres', 'citus']);

/** Where the daemon's own database comes from, as Hasura's source configuration says it: no secret. */
const CONNECTION_FROM_ENV = { connection_info: { database_url: { from_env: 'HASURA_GRAPHQL_DATABASE_URL' } } };

export interface QualifiedTable {
  schema: string;
  name: string;
}

/** A stored definition with the table as it is named now (renames followed), for the export. */
export interface ExportedTrigger {
  definition: TriggerDefinition;
  table: QualifiedTable;
}

/** A warning as Hasura words them (MetadataWarning): what was ignored, and why. */
export interface MetadataWarning {
  code: 'ignored-metadata';
  type: string;
  name: string;
  message: string;
}

/** One trigger of a document, as create_event_trigger args, with where it is in the document. */
export interface DocumentTrigger {
  name: string;
  /** JSON path of the trigger's object (`$.args.metadata.sources[0].tables[1].event_triggers[0]`). */
  path: string;
  /** JSON path of its table's `table` key. */
  tablePath: string;
  /** The trigger as the document has it (Hasura's EventTriggerConf). */
  conf: Record<string, unknown>;
  args: Record<string, unknown>;
}

export interface ReadDocument {
  triggers: DocumentTrigger[];
  warnings: MetadataWarning[];
}

/** Hasura's EventTriggerConf for a stored definition. */
export function toEventTriggerConf(def: TriggerDefinition): Record<string, unknown> {
  const { name, table: _table, retry_conf, headers, trigger_on_replication, ...rest } = def;
  const definition: Record<string, unknown> = {};
  const others: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(rest)) {
    if (value === undefined) continue;
    if ((DEFINITION_KEYS as readonly string[]).includes(key)) definition[key] = value;
    else others[key] = value;
  }
  return {
    name,
    definition,
    retry_conf,
    ...others,
    // Hasura omits these when they are the default, and so does its export.
    ...(headers.length > 0 ? { headers } : {}),
    ...(trigger_on_replication ? { trigger_on_replication } : {}),
  };
}

/** The metadata document (version 3) of one source holding the given triggers. */
export function toMetadataDocument(triggers: ExportedTrigger[], sourceName: string): Record<string, unknown> {
  const byTable = new Map<string, { table: QualifiedTable; event_triggers: Record<string, unknown>[] }>();
  const key = (t: QualifiedTable) => JSON.stringify([t.schema, t.name]);
  const sorted = [...triggers].sort((a, b) => compare(key(a.table), key(b.table)) || compare(a.definition.name, b.definition.name));
  for (const { definition, table } of sorted) {
    const entry = byTable.get(key(table)) ?? { table: { name: table.name, schema: table.schema }, event_triggers: [] };
    entry.event_triggers.push(toEventTriggerConf(definition));
    byTable.set(key(table), entry);
  }
  return {
    version: 3,
    sources: [{ name: sourceName, kind: 'postgres', tables: [...byTable.values()], configuration: CONNECTION_FROM_ENV }],
  };
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** create_event_trigger args for an EventTriggerConf found on `table`. */
export function argsFromEventTriggerConf(conf: Record<string, unknown>, table: unknown, path: string): Record<string, unknown> {
  const { definition, ...rest } = conf;
  if (definition !== undefined && !isObject(definition)) {
    throw new ApiError('parse-failed', 'expected an object', `${path}.definition`);
  }
  return { ...rest, ...(definition ?? {}), table };
}

/**
 * The document's event triggers on the served database, and warnings for everything else in it. A
 * source is served when its name is "default" or `sourceName` (as the `source` arg of pg_* operations);
 * with `sourceName` undefined, every source of a kind this daemon serves is read (the import command
 * reads a project so, before the daemon decides). Throws parse-failed for what is not a metadata
 * document, at its path under `base`.
 */
export function readMetadataDocument(doc: unknown, sourceName: string | undefined, base: string): ReadDocument {
  if (!isObject(doc)) throw new ApiError('parse-failed', 'expected an object (a metadata document)', base);
  const warnings: MetadataWarning[] = [];
  const version = doc.version ?? 1;
  if (version !== 1 && version !== 2 && version !== 3) {
    throw new ApiError('parse-failed', `unsupported metadata version ${JSON.stringify(version)}: expected 1, 2 or 3`, `${base}.version`);
  }
  const triggers: DocumentTrigger[] = [];
  if (version === 3) {
    warnIgnored(doc, ['version', 'sources'], { type: 'metadata', name: 'metadata' }, warnings);
    const sources = arrayAt(doc, 'sources', base, true);
    const served = (name: string) => sourceName === undefined || name === 'default' || name === sourceName;
    const servedNames = `"default"${sourceName === undefined || sourceName === 'default' ? '' : ` and "${sourceName}"`}`;
    const servedSeen: string[] = [];
    sources.forEach((source, s) => {
      const path = `${base}.sources[${s}]`;
      if (!isObject(source)) throw new ApiError('parse-failed', 'expected an object (a source)', path);
      if (typeof source.name !== 'string') throw new ApiError('parse-failed', 'key "name" not found, or not a string', path);
      const kind = source.kind ?? 'postgres';
      if (!served(source.name) || !SERVED_KINDS.has(kind as string)) {
        const why = served(source.name) ? `of kind ${JSON.stringify(kind)}` : `not served by this daemon (it serves ${servedNames})`;
        warnings.push(ignored('source', source.name, `source "${source.name}" is ${why}: ignored, with its tables and triggers`));
        return;
      }
      servedSeen.push(source.name);
      // The connection is the daemon's own (DATABASE_URL): configuration is not a part it could apply.
      warnIgnored(source, ['name', 'kind', 'tables', 'configuration'], { type: 'source', name: source.name }, warnings);
      triggers.push(...readTables(arrayAt(source, 'tables', path, false), `${path}.tables`, warnings));
    });
    if (sources.length > 0 && servedSeen.length === 0) {
      const names = sources.map((s) => (isObject(s) ? JSON.stringify(s.name) : '?')).join(', ');
      throw new ApiError(
        'not-exists',
        `none of the document's sources (${names}) is served by this daemon, which serves ${servedNames} of kind postgres: ` +
          'name the source "default", or set SOURCE_NAME to its name (nothing was changed)',
        `${base}.sources`,
      );
    }
  } else {
    warnIgnored(doc, ['version', 'tables'], { type: 'metadata', name: 'metadata' }, warnings);
    triggers.push(...readTables(arrayAt(doc, 'tables', base, false), `${base}.tables`, warnings));
  }
  const seen = new Set<string>();
  const duplicates = new Set<string>();
  for (const t of triggers) {
    if (seen.has(t.name)) duplicates.add(t.name);
    seen.add(t.name);
  }
  // Reading every source, names may repeat across databases the daemon will not all serve.
  if (duplicates.size > 0 && sourceName !== undefined) {
    // Hasura's words (runReplaceMetadataV2'): names are unique across every table of a database.
    const list = [...duplicates].map((d) => JSON.stringify(d)).join(', ');
    throw new ApiError('not-supported', `Event trigger with duplicate names not allowed: ${list}`, base);
  }
  return { triggers, warnings };
}

function readTables(tables: unknown[], path: string, warnings: MetadataWarning[]): DocumentTrigger[] {
  const out: DocumentTrigger[] = [];
  const declared = new Set<string>();
  tables.forEach((entry, t) => {
    const tablePath = `${path}[${t}]`;
    if (!isObject(entry)) throw new ApiError('parse-failed', 'expected an object (a table)', tablePath);
    if (entry.table === undefined) throw new ApiError('parse-failed', 'key "table" not found', tablePath);
    const label = tableLabel(entry.table);
    if (declared.has(label)) {
      throw new ApiError('parse-failed', `multiple declarations exist for the following tables: ${label}`, path);
    }
    declared.add(label);
    warnIgnored(entry, ['table', 'event_triggers'], { type: 'table', name: label }, warnings);
    arrayAt(entry, 'event_triggers', tablePath, false).forEach((conf, e) => {
      const confPath = `${tablePath}.event_triggers[${e}]`;
      if (!isObject(conf)) throw new ApiError('parse-failed', 'expected an object (an event trigger)', confPath);
      if (typeof conf.name !== 'string') throw new ApiError('parse-failed', 'key "name" not found, or not a string', confPath);
      out.push({
        name: conf.name,
        path: confPath,
        tablePath: `${tablePath}.table`,
        conf,
        args: argsFromEventTriggerConf(conf, entry.table, confPath),
      });
    });
  });
  return out;
}

/**
 * Where a create_event_trigger refusal of a document trigger's args points in the document: the
 * operations and enable_manual are under `definition`, the table is its table's `table` key.
 */
export function documentPath(trigger: DocumentTrigger, argsPath: string, errorPath: string): string {
  if (!errorPath.startsWith(argsPath)) return errorPath;
  const rest = errorPath.slice(argsPath.length);
  const key = /^\.([A-Za-z_]+)/.exec(rest)?.[1];
  if (key === 'table') return trigger.tablePath + rest.slice('.table'.length);
  if (key && (DEFINITION_KEYS as readonly string[]).includes(key)) return `${trigger.path}.definition${rest}`;
  return trigger.path + rest;
}

/** schema.name of a table key as Hasura writes it ({"schema", "name"}, or a bare name in public). */
function tableLabel(table: unknown): string {
  if (typeof table === 'string') return `public.${table}`;
  if (isObject(table)) return `${typeof table.schema === 'string' ? table.schema : 'public'}.${String(table.name)}`;
  return JSON.stringify(table);
}

function arrayAt(object: Record<string, unknown>, key: string, path: string, required: boolean): unknown[] {
  const value = object[key];
  if (value === undefined || value === null) {
    if (required) throw new ApiError('parse-failed', `key "${key}" not found`, path);
    return [];
  }
  if (!Array.isArray(value)) throw new ApiError('parse-failed', 'expected an array', jsonPath(path, [key]));
  return value;
}

/** One warning for the keys of `object` outside `served` that hold something (empty lists say nothing). */
function warnIgnored(
  object: Record<string, unknown>,
  served: readonly string[],
  where: { type: string; name: string },
  warnings: MetadataWarning[],
): void {
  const keys = Object.keys(object).filter((k) => !served.includes(k) && !isEmpty(object[k]));
  if (keys.length === 0) return;
  const list = keys.map((k) => `"${k}"`).join(', ');
  warnings.push(ignored(where.type, where.name, `${list}: not served by pg-event-triggers, ignored`));
}

const ignored = (type: string, name: string, message: string): MetadataWarning => ({ code: 'ignored-metadata', type, name, message });

function isEmpty(value: unknown): boolean {
  if (value === null || value === undefined || value === false) return true;
  if (Array.isArray(value)) return value.length === 0;
  // An object of empty parts ({"objects": [], "enums": []}, as the Hasura CLI writes custom_types) says nothing.
  if (isObject(value)) return Object.values(value).every(isEmpty);
  return false;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * The part of a document that replace_metadata applies: the served kinds of source with their tables that
 * have event triggers, each with only its table and triggers. What it drops is what readMetadataDocument
 * warns about, so a caller that read the whole document first loses nothing but bytes.
 */
export function pruneMetadataDocument(doc: Record<string, unknown>): Record<string, unknown> {
  const tablesOf = (tables: unknown) =>
    (Array.isArray(tables) ? tables : [])
      .filter((t): t is Record<string, unknown> => isObject(t) && Array.isArray(t.event_triggers) && t.event_triggers.length > 0)
      .map((t) => ({ table: t.table, event_triggers: t.event_triggers }));
  if (doc.version === 3) {
    const sources = (Array.isArray(doc.sources) ? doc.sources : [])
      .filter((s): s is Record<string, unknown> => isObject(s) && SERVED_KINDS.has((s.kind ?? 'postgres') as string))
      .map((s) => ({ name: s.name, ...(s.kind === undefined ? {} : { kind: s.kind }), tables: tablesOf(s.tables) }));
    return { version: 3, sources };
  }
  return { ...(doc.version === undefined ? {} : { version: doc.version }), tables: tablesOf(doc.tables) };
}
