/**
 * The console's scripts are compiled by `npm run build` (npm test runs it first). A test of the console
 * run against scripts older than their sources would test something else than the code in front of the
 * reader: this refuses to, saying what to run.
 */
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '../..');
const SOURCES = path.join(ROOT, 'src/console/web');
const COMPILED = path.join(ROOT, 'dist/console');

export async function checkConsoleBuilt(): Promise<void> {
  const sources = (await readdir(SOURCES, { recursive: true })).filter((f) => f.endsWith('.ts'));
  for (const source of sources) {
    const compiled = path.join(COMPILED, source.replace(/\.ts$/, '.js'));
    const built = await stat(compiled).catch(() => undefined);
    const written = await stat(path.join(SOURCES, source));
    if (!built || built.mtimeMs < written.mtimeMs) {
      throw new Error(`the console's scripts are ${built ? 'older than their sources' : 'not built'} (${source}): run npm run build first`);
    }
  }
}
