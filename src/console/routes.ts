/**
 * The web console at /console: a page and its scripts, served by the daemon on the API's port, with no
 * server-side logic of its own. The page calls the API (/v1/query) like any client, with the admin secret
 * the user typed, so the API's checks (secret, cross-site refusals) apply to everything it does.
 *
 * The files themselves are public: they hold no data and no secret, so they are served without the admin
 * secret (a browser cannot send a header when the user opens a URL). The browser guard still applies to
 * them, as to every request. Their headers keep other sites from framing the page and the page from
 * loading anything but its own files.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Logger } from 'pino';
import { loadConsoleAssets, type Asset, type ConsoleAssets } from './assets.js';

export const CONSOLE_PATH = '/console';

/** Whether a request is for one of the console's files: those are served without the admin secret. */
export function isConsoleFileRequest(method: string, url: string): boolean {
  if (method !== 'GET' && method !== 'HEAD') return false;
  const pathname = url.split('?')[0]!;
  return pathname === CONSOLE_PATH || pathname.startsWith(`${CONSOLE_PATH}/`);
}

/**
 * Only the console's own origin, for scripts, styles, images and requests; no framing (clickjacking), no
 * inline script (the page builds its DOM from the API's answers, never from HTML text).
 */
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  // The files change only with the daemon: revalidate, but never serve a stale page after an upgrade.
  'cache-control': 'no-cache',
};

export function registerConsole(app: FastifyInstance, log: Logger, assets: ConsoleAssets = loadConsoleAssets()): void {
  if (!assets.built) log.warn('the console is not built (run npm run build): /console says so');
  const send = (reply: FastifyReply, asset: Asset) => reply.code(200).headers(SECURITY_HEADERS).type(asset.contentType).send(asset.body);
  app.get(CONSOLE_PATH, (_req, reply) => send(reply, assets.page));
  app.get(`${CONSOLE_PATH}/`, (_req, reply) => send(reply, assets.page));
  app.get(`${CONSOLE_PATH}/*`, (req, reply) => {
    const name = (req.params as { '*': string })['*'];
    const asset = assets.files.get(name);
    // The page routes with the URL's fragment (/console#/events/…): any other path is not one of its files.
    return asset ? send(reply, asset) : reply.callNotFound();
  });
}
