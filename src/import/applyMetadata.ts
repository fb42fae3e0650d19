/**
 * `pg-event-triggers apply-metadata <project>`: applies a Hasura project's event triggers to a running
 * daemon, as `hasura metadata apply` does to Hasura: one replace_metadata request, so the daemon checks
 * the document against its own database and environment (the variables a trigger names are the daemon's,
 * not this machine's) and applies all of it or none. `--dry-run` asks the daemon what would change and
 * changes nothing.
 *
 * The document is read here in full, so what the daemon does not serve is reported from here; only the
 * event triggers travel, which keeps large projects (permissions of many tables) under API_BODY_LIMIT.
 */
import { request } from 'undici';
import { ApiError } from '../api/errors.js';
import { pruneMetadataDocument, readMetadataDocument, type MetadataWarning } from '../catalog/hasuraMetadata.js';
import { ProjectError, readHasuraProject } from './hasuraProject.js';

export interface ApplyOptions {
  /** A project, a metadata directory or a metadata file. */
  project: string;
  /** Base URL of the daemon's API. */
  endpoint: string;
  adminSecret: string | undefined;
  dryRun: boolean;
  allowInconsistentMetadata: boolean;
  /** Where the report goes (stdout), and why it failed (stderr). */
  print: (line: string) => void;
  printError: (line: string) => void;
}

interface Changes {
  created: string[];
  replaced: string[];
  deleted: string[];
  unchanged: string[];
}

interface Inconsistency {
  name: string;
  reason: string;
}

/** Applies the project; resolves to the exit code (0 applied, 1 refused or unreachable). */
export async function applyMetadata(options: ApplyOptions): Promise<number> {
  const { print, printError } = options;
  let project;
  let local;
  try {
    project = readHasuraProject(options.project);
    local = readMetadataDocument(project.document, undefined, '$');
  } catch (error) {
    if (error instanceof ProjectError) return fail(printError, error.message);
    if (error instanceof ApiError) return fail(printError, `the metadata is refused at ${error.path}: ${error.message}`);
    throw error;
  }
  print(
    `Read ${project.description}: ${project.files.length} file${project.files.length === 1 ? '' : 's'}, ${local.triggers.length} event trigger${local.triggers.length === 1 ? '' : 's'}.`,
  );

  const body = {
    type: 'replace_metadata',
    version: 2,
    args: {
      metadata: pruneMetadataDocument(project.document),
      allow_inconsistent_metadata: options.allowInconsistentMetadata,
      dry_run: options.dryRun,
    },
  };
  const url = `${options.endpoint.replace(/\/+$/, '')}/v1/metadata`;
  let status: number;
  let answer: Record<string, unknown>;
  try {
    const res = await request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(options.adminSecret ? { 'x-hasura-admin-secret': options.adminSecret } : {}) },
      body: JSON.stringify(body),
    });
    status = res.statusCode;
    const text = await res.body.text();
    answer = (text ? JSON.parse(text) : {}) as Record<string, unknown>;
  } catch (error) {
    return fail(printError, `cannot reach the daemon at ${url}: ${(error as Error).message} (is it running? --endpoint sets where)`);
  }
  const warnings = [...local.warnings, ...((answer.warnings as MetadataWarning[] | undefined) ?? [])];
  printWarnings(print, warnings);
  if (status !== 200) {
    printInconsistencies(print, answer.internal);
    return fail(printError, `the daemon refused the metadata (${String(answer.code)}) at ${String(answer.path)}: ${String(answer.error)}`);
  }
  printInconsistencies(print, answer.inconsistent_objects);
  printChanges(print, answer.changes as Changes, options.dryRun);
  return 0;
}

function printChanges(print: (line: string) => void, changes: Changes, dryRun: boolean) {
  const rows: Array<[string, string[]]> = [
    ['create', changes.created],
    ['replace', changes.replaced],
    ['delete', changes.deleted],
  ];
  const any = rows.some(([, names]) => names.length > 0);
  print(dryRun ? 'Dry run: nothing was changed. Applying would:' : any ? 'Applied:' : 'Nothing to change.');
  for (const [verb, names] of rows) for (const name of names) print(`  ${verb.padEnd(8)}${name}`);
  if (dryRun && !any) print('  change nothing');
  if (changes.unchanged.length > 0) print(`  (${changes.unchanged.length} unchanged: ${changes.unchanged.join(', ')})`);
}

function printWarnings(print: (line: string) => void, warnings: MetadataWarning[]) {
  if (warnings.length === 0) return;
  print('Ignored (not served by pg-event-triggers):');
  for (const w of warnings) print(`  ${w.type} ${w.name}: ${w.message}`);
}

function printInconsistencies(print: (line: string) => void, objects: unknown) {
  if (!Array.isArray(objects) || objects.length === 0) return;
  print('Not applied (inconsistent):');
  for (const o of objects as Inconsistency[]) print(`  ${o.name}: ${o.reason}`);
}

function fail(print: (line: string) => void, message: string): number {
  print(`pg-event-triggers: apply-metadata: ${message}`);
  return 1;
}
