/**
 * One webhook call: builds the body of the payload spec from the text PostgreSQL rendered (column values
 * are never parsed and re-serialised), POSTs it through a pooled keep-alive undici Agent, and reports
 * the outcome with the invocation log to record.
 */
import { Agent, type Dispatcher } from 'undici';
import type { ResolvedTrigger, TriggerTransform } from '../catalog/triggerRegistry.js';
import { addedHeaders, attemptHeaders, loggedHeadersJson } from './attemptHeaders.js';
import { prepareTransformedRequest } from './transformedRequest.js';

/** An event as claimed from the database: what the body is built from. */
export interface ClaimedEvent {
  id: string;
  schema_name: string;
  table_name: string;
  trigger_name: string;
  tries: number;
  /** UTC, ISO-8601 with Z, microseconds: as in the payload spec. */
  created_at: string;
  /** The event object ({"op", "data"}) as PostgreSQL rendered it. */
  payload: string;
  /** ms until the next attempt, 0 when due. */
  retry_in_ms: string | number;
  /** event_log.redeliveries: the generation the actor's verdicts must match. */
  redeliveries: number;
  /** The payload's trace_context as JSON text: sent on as traceparent (traceContext.ts). */
  trace_context?: string | null;
}

/** What the invocation log row holds for one attempt. */
export interface InvocationLog {
  status: number | null;
  /** JSON text: {"payload", "headers", "version"}. */
  request: string;
  /** JSON text: {"type": "webhook_response" | "client_error", "data", "version"}. */
  response: string;
  /** Whole milliseconds from the start of the request to the end of the response (or the failure). */
  durationMs: number;
}

export interface WebhookOutcome {
  ok: boolean;
  status: number | null;
  retryAfterMs: number | null;
  summary: string;
  /** The attempt's invocation log; undefined when invocation logs are off (nothing of it is built). */
  log: InvocationLog | undefined;
  /**
   * False when nothing was sent (the webhook cannot be resolved here, a transform failed on the event):
   * such an outcome says nothing of the endpoint, so circuit breakers ignore it.
   */
  sent: boolean;
  /** Bytes of the request body sent (0 when nothing was sent), and of the response body received. */
  requestBytes: number;
  responseBytes: number;
}

/** The body POSTed to the webhook, assembled around the payload text. */
export function buildBody(event: ClaimedEvent, trigger: ResolvedTrigger, currentRetry: number): string {
  return (
    `{"id":"${event.id}","created_at":"${event.created_at}","trigger":${trigger.triggerJson},` +
    `"table":${JSON.stringify({ schema: event.schema_name, name: event.table_name })},` +
    `"event":${event.payload},` +
    `"delivery_info":{"max_retries":${trigger.retry.num_retries},"current_retry":${currentRetry}}}`
  );
}

export interface WebhookClientOptions {
  /** Most connections per webhook origin: the HTTP pool size. */
  connections: number;
  /** Bytes of a response body kept for the invocation log. */
  responseBodyLimit: number;
  /** How long undici tries to connect (10 s); timeout_sec ends the attempt sooner if it is shorter. */
  connectTimeoutMs?: number;
  /** false: no invocation log is built (INVOCATION_LOGS=false), so response bodies are not even kept. */
  invocationLogs?: boolean;
}

/** A webhook call under way: its outcome, and a way to abandon it. */
export interface WebhookCall {
  /** Resolves with the outcome, or with 'aborted' when abort() was called first. */
  done: Promise<WebhookOutcome | 'aborted'>;
  abort(): void;
}

/** Reasons a call ends without a response; an Error so undici accepts it as an abort reason. */
class CallEnded extends Error {
  constructor(readonly why: 'timeout' | 'aborted' | 'too-large') {
    super(why);
  }
}

export class WebhookClient {
  private readonly agent: Agent;
  private readonly keepsLogs: boolean;

  constructor(private readonly options: WebhookClientOptions) {
    this.keepsLogs = options.invocationLogs !== false;
    this.agent = new Agent({
      connections: options.connections,
      pipelining: 1,
      keepAliveTimeout: 30_000,
      keepAliveMaxTimeout: 600_000,
      connect: { timeout: options.connectTimeoutMs ?? 10_000 },
    });
  }

  /**
   * Starts one POST. timeout_sec bounds the whole attempt: connecting, headers and body. This goes through
   * undici's dispatch() with a small handler rather than request(): no stream per response and no
   * AbortSignal, which measured ~70 µs less CPU per call on this project's machines.
   *
   * undici hands over the controller that aborts a request (onRequestStart) only once a connection is up,
   * so a host that never completes the handshake cannot be aborted before its connect timeout. The timer
   * therefore settles the outcome itself, at once, as a timeout; the request is aborted as soon as it
   * has a controller, and whatever undici reports later (the connect error) changes nothing.
   */
  start(event: ClaimedEvent, trigger: ResolvedTrigger, currentRetry: number): WebhookCall {
    const body = buildBody(event, trigger, currentRetry);
    if (trigger.transform) return this.startTransformed(event, trigger, trigger.transform, body);
    // Signed triggers and traced events add headers of their own to the trigger's (attemptHeaders.ts).
    const sent = attemptHeaders(trigger, { id: event.id, traceContext: event.trace_context, body, now: Date.now() });
    const requestLog = this.keepsLogs ? `{"payload":${body},"headers":${loggedHeadersJson(trigger, sent.added)},"version":"2"}` : undefined;
    if (!trigger.target) return finished(clientError(requestLog, trigger.problem ?? 'the webhook URL is not configured', 0));
    const timeoutMs = trigger.retry.timeout_sec * 1000;
    const { origin, path } = trigger.target;
    const request = { origin, path, method: 'POST', headers: sent.sent, body, headersTimeout: timeoutMs, bodyTimeout: timeoutMs };
    return this.send(trigger, request, requestLog);
  }

  /** The request_transform's request instead (transformedRequest.ts); a transform that fails is a failed attempt. */
  private startTransformed(event: ClaimedEvent, trigger: ResolvedTrigger, transform: TriggerTransform, body: string): WebhookCall {
    if (!trigger.target || trigger.url === undefined) {
      const requestLog = this.keepsLogs ? `{"payload":${body},"headers":${trigger.loggedHeadersJson},"version":"2"}` : undefined;
      return finished(clientError(requestLog, trigger.problem ?? 'the webhook URL is not configured', 0));
    }
    const prepared = prepareTransformedRequest({
      trigger,
      transform,
      url: trigger.url,
      body,
      addHeaders: (sentBody) => addedHeaders(trigger, { id: event.id, traceContext: event.trace_context, body: sentBody, now: Date.now() }),
    });
    if (!prepared.ok) return finished(clientError(this.keepsLogs ? prepared.requestLog() : undefined, prepared.message, 0));
    const timeoutMs = trigger.retry.timeout_sec * 1000;
    const { origin, path, method, headers } = prepared;
    return this.send(
      trigger,
      { origin, path, method, headers, body: prepared.body, headersTimeout: timeoutMs, bodyTimeout: timeoutMs },
      this.keepsLogs ? prepared.requestLog() : undefined,
    );
  }

  /**
   * Dispatches one request and settles its outcome (see start). `requestLog` is undefined when
   * invocation logs are off: then no log is built, nor a response body kept.
   */
  private send(trigger: ResolvedTrigger, request: Dispatcher.DispatchOptions, requestLog: string | undefined): WebhookCall {
    const limit = requestLog === undefined ? 0 : this.options.responseBodyLimit;
    const timeoutMs = trigger.retry.timeout_sec * 1000;
    const started = performance.now();
    const elapsedMs = () => Math.round(performance.now() - started);
    const requestBytes = bodyBytes(request.body);

    let controller: Dispatcher.DispatchController | undefined;
    let ended: CallEnded | undefined;
    let settled = false;
    let settle!: (outcome: WebhookOutcome | 'aborted') => void;
    const done = new Promise<WebhookOutcome | 'aborted'>((resolve) => (settle = resolve));
    /** The one outcome of the call: the first to come wins, later reports are ignored. */
    const finish = (outcome: WebhookOutcome | 'aborted') => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      settle(outcome);
    };
    const timeoutMessage = `timeout: no complete response within timeout_sec (${trigger.retry.timeout_sec}s)`;
    const end = (why: CallEnded['why']) => {
      if (ended) return;
      ended = new CallEnded(why);
      controller?.abort(ended);
      // A body cut off for its size is still answered with what was read (onResponseError, below).
      if (why === 'timeout') finish(clientError(requestLog, timeoutMessage, elapsedMs(), requestBytes));
      if (why === 'aborted') finish('aborted');
    };
    const timer = setTimeout(() => end('timeout'), timeoutMs);

    let status = 0;
    let headers: Record<string, string | string[] | undefined> = {};
    const kept: Buffer[] = [];
    let keptBytes = 0;
    let seen = 0;
    /** The response as Hasura logs it (Eventing.HTTP.mkInvocationResp), from the part of its body kept. */
    const responseLog = (ok: boolean): string => {
      // NUL cannot be stored in jsonb ("unsupported Unicode escape sequence"), and a log the recorder
      // cannot store fails its whole batch: NUL is shown as U+FFFD, like the bytes that are not UTF-8.
      const text = Buffer.concat(kept, keptBytes)
        .toString('utf8')
        .replace(/\u0000/g, '\uFFFD');
      // A 2xx as webhook_response with its status, headers and body; any other status as client_error
      // whose message is the body (the status is in the log's status column).
      return JSON.stringify(
        ok
          ? { type: 'webhook_response', data: { status, headers: loggedResponseHeaders(headers), body: text }, version: '2' }
          : { type: 'client_error', data: { message: text }, version: '2' },
      );
    };
    const respond = () => {
      const ok = status >= 200 && status < 300;
      const durationMs = elapsedMs();
      finish({
        ok,
        status,
        retryAfterMs: ok ? null : parseRetryAfter(headers['retry-after']),
        sent: true,
        requestBytes,
        responseBytes: seen,
        summary: `HTTP ${status} in ${durationMs} ms`,
        log: requestLog === undefined ? undefined : { status, request: requestLog, response: responseLog(ok), durationMs },
      });
    };
    const fail = (error: Error) => {
      const why = error instanceof CallEnded ? error.why : ended?.why;
      if (why === 'aborted') return finish('aborted');
      // A body far over the limit was cut off on purpose: what was read is the response.
      if (why === 'too-large' && status !== 0) return respond();
      const message = why === 'timeout' ? timeoutMessage : describeNetworkError(error);
      finish(clientError(requestLog, message, elapsedMs(), requestBytes));
    };
    const handler: Dispatcher.DispatchHandler = {
      onRequestStart(c) {
        controller = c;
        if (ended) c.abort(ended);
      },
      onResponseStart(_c, statusCode, responseHeaders) {
        status = statusCode;
        headers = responseHeaders;
      },
      onResponseData(_c, chunk) {
        seen += chunk.length;
        if (keptBytes < limit) {
          const part = chunk.length <= limit - keptBytes ? chunk : chunk.subarray(0, limit - keptBytes);
          kept.push(part);
          keptBytes += part.length;
        }
        // Drain a little past the limit so the connection can be reused; cut off what is far over it.
        if (seen > Math.max(limit, 1_048_576)) end('too-large');
      },
      onResponseEnd: respond,
      onResponseError: (_c, error) => fail(error),
    };
    try {
      this.agent.dispatch(request, handler);
    } catch (error) {
      fail(error as Error);
    }
    return { done, abort: () => end('aborted') };
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}

/** Response headers as Hasura logs them: a {name, value} per value. */
function loggedResponseHeaders(headers: Record<string, string | string[] | undefined>): Array<{ name: string; value: string }> {
  const logged: Array<{ name: string; value: string }> = [];
  for (const [name, value] of Object.entries(headers)) {
    if (Array.isArray(value)) for (const v of value) logged.push({ name, value: v });
    else if (value !== undefined) logged.push({ name, value });
  }
  return logged;
}

/** A call that ended before it began: its outcome, at once. */
const finished = (outcome: WebhookOutcome): WebhookCall => ({
  done: Promise.resolve({ ...outcome, sent: false, requestBytes: 0 }),
  abort: () => undefined,
});

/** The size of a request body as sent: a string's UTF-8 bytes. */
function bodyBytes(body: Dispatcher.DispatchOptions['body']): number {
  if (typeof body === 'string') return Buffer.byteLength(body);
  return body instanceof Uint8Array ? body.byteLength : 0;
}

/** A failed attempt; its log only when `requestLog` is given (invocation logs on). */
function clientError(requestLog: string | undefined, message: string, durationMs: number, requestBytes = 0): WebhookOutcome {
  return {
    ok: false,
    status: null,
    retryAfterMs: null,
    summary: message,
    sent: true,
    requestBytes,
    responseBytes: 0,
    log:
      requestLog === undefined
        ? undefined
        : {
            status: null,
            request: requestLog,
            response: JSON.stringify({ type: 'client_error', data: { message }, version: '2' }),
            durationMs,
          },
  };
}

/**
 * Retry-After as ms from now: delay-seconds or an HTTP-date; null when absent, invalid, or not in the
 * future. A valid Retry-After retries even past num_retries (as Hasura does), so, like Hasura, a zero
 * delay is ignored: "Retry-After: 0" must not become an endless stream of immediate retries.
 */
export function parseRetryAfter(header: string | string[] | undefined, now = Date.now()): number | null {
  const value = (Array.isArray(header) ? header[0] : header)?.trim();
  if (!value) return null;
  if (/^\d+$/.test(value)) return Number(value) > 0 ? Math.min(Number(value) * 1000, MAX_RETRY_AFTER_MS) : null;
  if (!/[a-z]/i.test(value)) return null;
  const at = Date.parse(value);
  if (Number.isNaN(at) || at <= now) return null;
  return Math.min(at - now, MAX_RETRY_AFTER_MS);
}

/**
 * The longest wait a Retry-After can ask for: a year, as for retry_conf.interval_sec. The delay is stored
 * as a timestamp: "Retry-After: 99999999999999999999" must not become one PostgreSQL cannot hold.
 */
export const MAX_RETRY_AFTER_MS = 31_536_000 * 1000;

function describeNetworkError(error: unknown): string {
  const e = error as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = e.cause?.code ?? e.code;
  const message = e.cause?.message ?? e.message ?? String(error);
  return code ? `${code}: ${message}` : message;
}
