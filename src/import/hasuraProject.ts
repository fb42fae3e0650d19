/**
 * Reads a Hasura project's metadata from disk into one metadata document, as the Hasura CLI would send
 * it: a config v3 directory (metadata/version.yaml, databases/databases.yaml and the files it includes),
 * a config v2 directory (tables.yaml and its siblings), or a single file (config v1's
 * migrations/metadata.yaml, an export as JSON or YAML, a bare list of tables).
 *
 * Includes are written `"!include path"` (a quoted string, as the Hasura CLI writes them) or with the
 * YAML tag `!include path`; a path is relative to the file that names it.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseDocument, type ScalarTag } from 'yaml';

export interface HasuraProject {
  /** The metadata document (format version 3, or 1/2 for older projects). */
  document: Record<string, unknown>;
  /** What was read, for the operator: "metadata directory (config v3)", a file name... */
  description: string;
  /** Every file read, includes too. */
  files: string[];
}

/** Thrown for a project that cannot be read; its message is the one line to print. */
export class ProjectError extends Error {
  override name = 'ProjectError';
}

/** Top-level files of a metadata directory and the document key each holds (actions.yaml holds two). */
const FILE_KEYS: Record<string, string> = { 'allow_list.yaml': 'allowlist' };

export function readHasuraProject(given: string): HasuraProject {
  const at = path.resolve(given);
  if (!existsSync(at)) throw new ProjectError(`${given} does not exist`);
  if (statSync(at).isFile()) return readSingleFile(at, given);
  const metadataDir = existsSync(path.join(at, 'metadata')) ? path.join(at, 'metadata') : at;
  for (const name of ['metadata.yaml', 'metadata.json']) {
    const legacy = path.join(at, 'migrations', name);
    if (!existsSync(path.join(at, 'metadata')) && existsSync(legacy)) return readSingleFile(legacy, legacy);
  }
  if (existsSync(path.join(metadataDir, 'databases', 'databases.yaml'))) return readDirectory(metadataDir, 3);
  if (existsSync(path.join(metadataDir, 'tables.yaml'))) return readDirectory(metadataDir, 2);
  for (const name of ['metadata.yaml', 'metadata.json']) {
    if (existsSync(path.join(metadataDir, name))) return readSingleFile(path.join(metadataDir, name), name);
  }
  throw new ProjectError(
    `no Hasura metadata found in ${given}: expected a project (with metadata/), or a metadata directory with ` +
      'databases/databases.yaml (config v3) or tables.yaml (config v2), or metadata.yaml',
  );
}

function readSingleFile(file: string, shown: string): HasuraProject {
  const files: string[] = [];
  const content = loadYaml(file, files, []);
  if (Array.isArray(content)) return { document: { version: 2, tables: content }, description: `${shown} (a list of tables)`, files };
  if (!isObject(content)) throw new ProjectError(`${shown} holds no metadata document (expected an object or a list of tables)`);
  // An export of version 2 (export_metadata with "version": 2) wraps the document.
  const document = isObject(content.metadata) && 'resource_version' in content ? content.metadata : content;
  return { document, description: shown, files };
}

function readDirectory(dir: string, version: 2 | 3): HasuraProject {
  const files: string[] = [];
  const document: Record<string, unknown> = { version };
  const declared = path.join(dir, 'version.yaml');
  if (existsSync(declared)) {
    const content = loadYaml(declared, files, []);
    const said = isObject(content) ? content.version : undefined;
    if (said !== undefined && said !== version) {
      throw new ProjectError(`${declared} says version ${JSON.stringify(said)}, but the directory is laid out as config v${version}`);
    }
  }
  for (const name of readdirSync(dir).sort()) {
    if (!name.endsWith('.yaml') || name === 'version.yaml') continue;
    const content = loadYaml(path.join(dir, name), files, []);
    if (content === null || content === undefined) continue;
    if (name === 'actions.yaml' && isObject(content)) Object.assign(document, content);
    else document[FILE_KEYS[name] ?? name.slice(0, -'.yaml'.length)] = content;
  }
  if (version === 3) document.sources = loadYaml(path.join(dir, 'databases', 'databases.yaml'), files, []);
  return { document, description: `${dir} (Hasura CLI config v${version})`, files };
}

/** A file's YAML with every include replaced by what it names; `stack` holds the files being read. */
function loadYaml(file: string, files: string[], stack: string[]): unknown {
  if (stack.includes(file)) throw new ProjectError(`${file} includes itself (through ${stack.join(' -> ')})`);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const including = stack.at(-1);
    throw new ProjectError(`cannot read ${file}${including ? ` (included by ${including})` : ''}: ${(error as Error).message}`);
  }
  files.push(file);
  // The YAML tag form: its value is the path, resolved below like the string form.
  const includeTag: ScalarTag = { tag: '!include', resolve: (value) => ({ [INCLUDE]: value }) };
  const parsed = parseDocument(text, { customTags: [includeTag], prettyErrors: false });
  if (parsed.errors.length > 0) throw new ProjectError(`${file} is not valid YAML: ${parsed.errors[0]!.message}`);
  const resolve = (value: unknown): unknown => {
    const target = includeOf(value);
    if (target !== undefined) return loadYaml(path.resolve(path.dirname(file), target), files, [...stack, file]);
    if (Array.isArray(value)) return value.map(resolve);
    if (isObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolve(v)]));
    return value;
  };
  return resolve(parsed.toJS({ maxAliasCount: 1000 }));
}

const INCLUDE = Symbol('include');

/** The path an include names, or undefined. */
function includeOf(value: unknown): string | undefined {
  if (typeof value === 'string') return /^!include\s+(.+)$/.exec(value.trim())?.[1]?.trim();
  if (isObject(value) && INCLUDE in value) return String((value as Record<symbol, unknown>)[INCLUDE]).trim();
  return undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
