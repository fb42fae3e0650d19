/**
 * The console's files, found once when the daemon starts: the page and its style sheet from the
 * sources (src/console/web), its scripts as `npm run build` compiled them (dist/console). Everything is
 * read into memory and served by exact name, so no request path ever reaches the file system.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Asset {
  contentType: string;
  body: Buffer;
}

export interface ConsoleAssets {
  /** The page, or one that says how to build the scripts when they are missing. */
  page: Asset;
  /** The other files, by their path under /console/ ("app.js", "views/event.js", "console.css"). */
  files: Map<string, Asset>;
  /** Whether the compiled scripts were found. */
  built: boolean;
}

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.html': 'text/html; charset=utf-8',
};

/** The package's root: the nearest folder above this module with a package.json (from src/ or dist/src/). */
export function packageRoot(from = path.dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}

export function loadConsoleAssets(root = packageRoot()): ConsoleAssets {
  const sources = path.join(root, 'src', 'console', 'web');
  const compiled = path.join(root, 'dist', 'console');
  const files = new Map<string, Asset>();
  for (const name of ['console.css', 'favicon.svg']) files.set(name, readAsset(path.join(sources, name)));
  const built = existsSync(path.join(compiled, 'app.js'));
  if (built) {
    for (const name of listFiles(compiled)) {
      if (name.endsWith('.js')) files.set(name, readAsset(path.join(compiled, name)));
    }
  }
  const page = built ? readAsset(path.join(sources, 'index.html')) : notBuiltPage();
  return { page, files, built };
}

/** Paths relative to `dir`, with forward slashes, of every file below it. */
function listFiles(dir: string, prefix = ''): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const full = path.join(dir, entry);
    return statSync(full).isDirectory() ? listFiles(full, `${prefix}${entry}/`) : [`${prefix}${entry}`];
  });
}

function readAsset(file: string): Asset {
  return { contentType: TYPES[path.extname(file)] ?? 'application/octet-stream', body: readFileSync(file) };
}

function notBuiltPage(): Asset {
  const html =
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>pg-event-triggers console</title></head>' +
    '<body><h1>The console is not built</h1><p>Its scripts are compiled by <code>npm run build</code> ' +
    '(<code>npm start</code> runs it first). Run it, then restart the daemon.</p></body></html>';
  return { contentType: TYPES['.html']!, body: Buffer.from(html) };
}
