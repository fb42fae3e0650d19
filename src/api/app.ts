/**
 * The HTTP API as a Fastify instance: /v1/query and /v1/metadata (Hasura's {"type", "args"}), /rpc
 * (JSON-RPC 2.0), /healthz, /v1/version, the Prometheus metrics (/v1/metrics, /metrics), and the web
 * console's files at /console (src/console/). Transports only parse, authenticate and serialise; the
 * operations module does the work.
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { isConsoleFileRequest, registerConsole } from '../console/routes.js';
import type { MetricsSource } from '../metrics/metricsRegistry.js';
import { createMetricsCheck, createSecretCheck, roleOf, type AuthOutcome } from './auth.js';
import { createBrowserGuard } from './browserGuard.js';
import { ApiError, internalError } from './errors.js';
import { handleRpc, parseErrorResponse } from './jsonRpc.js';
import { parseJson, serializeResponse } from './json.js';
import { forRequest, type OperationContext } from './operations/context.js';
import { runQuery, type Endpoint } from './operations/index.js';

export interface Health {
  ok: boolean;
  reason?: string;
}

export interface AppOptions {
  ctx: OperationContext;
  adminSecret: string | undefined;
  /** METRICS_SECRET: reads the metrics instead of the admin secret. */
  metricsSecret?: string | undefined;
  /** Served on GET /v1/metrics and /metrics; absent, those are not found. */
  metrics?: MetricsSource;
  /** The HOST the daemon listens on: without a secret, requests must be addressed to it or to loopback. */
  host?: string;
  bodyLimit: number;
  version: string;
  health(): Promise<Health>;
  log: Logger;
}

/** What the body parser yields for malformed JSON, so each transport answers in its own format. */
class MalformedJson {
  constructor(readonly message: string) {}
}

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const { ctx, log } = options;
  const app = Fastify({
    // Typed as Fastify's logger so the instance is the FastifyInstance the rest of the code takes.
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion
    loggerInstance: log as FastifyBaseLogger,
    // One line per request would drown the log at thousands of operations a second.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: options.bodyLimit,
    return503OnClosing: true,
  });

  // Any content type is read as JSON (curl -d sends form encoding by default), without losing digits.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => {
    if ((body as string).trim() === '') return done(null, undefined);
    try {
      done(null, parseJson(body as string));
    } catch (error) {
      // The parser recurses: JSON nested some thousands of levels deep exhausts the stack.
      const reason = error instanceof RangeError ? 'nested too deeply' : (error as Error).message;
      done(null, new MalformedJson(`invalid JSON: ${reason}`));
    }
  });

  const checkSecret = createSecretCheck(options.adminSecret);
  const checkMetricsSecret = createMetricsCheck(options.metricsSecret, options.adminSecret);
  const browserGuard = createBrowserGuard({ adminSecret: options.adminSecret, host: options.host });
  app.addHook('onRequest', async (req, reply) => {
    // Every body is read as JSON whatever it claims to be: a malformed Content-Type ("", ";", "a/b/c")
    // would otherwise be refused by Fastify with 415 before the transport could answer in its format.
    // That is also what lets a web page's text/plain POST through, so browsers are refused just below.
    if (req.headers['content-type'] !== undefined) req.headers['content-type'] = 'application/json';
    if (req.url === '/healthz' || req.url.startsWith('/healthz?')) return;
    // Before the secret check: a browser's cross-site request is refused whatever else it carries, and
    // 403 (not 401) says that no credential would help.
    const refusal = browserGuard(req.headers);
    if (refusal) {
      req.log.warn({ path: req.url, ip: req.ip, reason: refusal.reason }, 'request refused');
      return sendError(reply, new ApiError('access-denied', refusal.message, '$', 403));
    }
    // The console's files hold no data: the page asks for the secret and sends it with each API call.
    if (isConsoleFileRequest(req.method, req.url)) return;
    const forMetrics = isMetricsPath(req.url);
    const byMetricsSecret = forMetrics && Boolean(options.metricsSecret);
    const outcome = (forMetrics ? checkMetricsSecret : checkSecret)(req.headers);
    if (outcome === 'ok') return;
    req.log.warn({ path: req.url, ip: req.ip, reason: `${outcome} ${byMetricsSecret ? 'metrics' : 'admin'} secret` }, 'request refused');
    return sendError(reply, new ApiError('access-denied', byMetricsSecret ? metricsRefusal(outcome) : adminRefusal(outcome)));
  });

  const hasura = (endpoint: Endpoint) => async (req: FastifyRequest, reply: FastifyReply) => {
    const body = req.body;
    if (body instanceof MalformedJson) return sendError(reply, new ApiError('parse-failed', body.message));
    if (body === undefined) return sendError(reply, new ApiError('parse-failed', 'the request body is empty'));
    const result = await runQuery(forRequest(ctx), body, { role: roleOf(req.headers) }, endpoint);
    return reply.code(200).type('application/json').send(serializeResponse(result));
  };
  app.post('/v1/query', hasura('query'));
  app.post('/v1/metadata', hasura('metadata'));

  app.post('/rpc', async (req, reply) => {
    const body = req.body;
    const response =
      body instanceof MalformedJson
        ? parseErrorResponse(body.message)
        : body === undefined
          ? parseErrorResponse('the request body is empty')
          : await handleRpc(forRequest(ctx), body, { role: roleOf(req.headers) });
    if (response === undefined) return reply.code(204).send();
    return reply.code(200).type('application/json').send(serializeResponse(response));
  });

  app.get('/healthz', async (_req, reply) => {
    const health = await options.health();
    if (health.ok) return reply.code(200).type('text/plain').send('OK');
    return reply.code(503).type('application/json').send({ status: 'unhealthy', reason: health.reason });
  });

  app.get('/v1/version', () => ({ version: options.version }));

  const { metrics } = options;
  if (metrics) {
    const serveMetrics = async (_req: FastifyRequest, reply: FastifyReply) => {
      const text = await metrics.render();
      return reply.code(200).type(metrics.contentType).header('cache-control', 'no-store').send(text);
    };
    app.get('/v1/metrics', serveMetrics);
    app.get('/metrics', serveMetrics);
  }
  registerConsole(app, log);

  app.setNotFoundHandler((req, reply) =>
    sendError(reply, new ApiError('not-found', `resource does not exist: ${req.method} ${req.url.split('?')[0]}`)),
  );

  app.setErrorHandler((error: Error & { statusCode?: number; code?: string }, req, reply) => {
    if (error instanceof ApiError) return sendError(reply, error);
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return sendError(reply, new ApiError('parse-failed', `the request body is larger than ${options.bodyLimit} bytes`, '$', 413));
    }
    if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
      return sendError(reply, new ApiError('parse-failed', error.message, '$', error.statusCode));
    }
    req.log.error({ err: error, path: req.url }, 'request failed');
    return sendError(reply, internalError());
  });

  return app;
}

/** Hasura's path, and the one Prometheus scrapes by default. */
function isMetricsPath(url: string): boolean {
  const path = url.split('?')[0];
  return path === '/v1/metrics' || path === '/metrics';
}

function adminRefusal(outcome: Exclude<AuthOutcome, 'ok'>): string {
  return outcome === 'missing'
    ? 'x-hasura-admin-secret/x-hasura-access-key required, but not found'
    : 'invalid x-hasura-admin-secret/x-hasura-access-key';
}

function metricsRefusal(outcome: Exclude<AuthOutcome, 'ok'>): string {
  return outcome === 'missing' ? 'Authorization: Bearer <METRICS_SECRET> required, but not found' : 'invalid metrics secret';
}

function sendError(reply: FastifyReply, error: ApiError) {
  return reply.code(error.httpStatus).type('application/json').send(JSON.stringify(error.toWire()));
}
