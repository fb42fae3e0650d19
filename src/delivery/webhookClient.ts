/**
 * One webhook call: builds the body of the payload spec from the text PostgreSQL rendered (column values
 * are never parsed and re-serialised), POSTs it through a pooled keep-alive undici Agent, and reports
 * the outcome with the invocation log to record.
 */
import { EventEmitter } from 'node:events';
import type { Readable } from 'node:stream';
import { Agent, request } from 'undici';
import type { ResolvedTrigger } from '../catalog/triggerRegistry.js';

export const USER_AGENT = 'pg-event-triggers/0.1 (+event trigger webhook)';

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
}

/** What the invocation log row holds for one attempt. */
export interface InvocationLog {
  status: number | null;
  /** JSON text: {"payload", "headers", "version"}. */
  request: string;
  /** JSON text: {"type": "webhook_response" | "client_error", "data", "version"}. */
  response: string;
}

export interface WebhookOutcome {
  ok: boolean;
  status: number | null;
  retryAfterMs: number | null;
  summary: string;
  log: InvocationLog;
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
}

/** A webhook call under way: its outcome, and a way to abandon it. */
export interface WebhookCall {
  /** Resolves with the outcome, or with 'aborted' when abort() was called first. */
  done: Promise<WebhookOutcome | 'aborted'>;
  abort(): void;
}

export class WebhookClient {
  private readonly agent: Agent;

  constructor(private readonly options: WebhookClientOptions) {
    this.agent = new Agent({
      connections: options.connections,
      pipelining: 1,
      keepAliveTimeout: 30_000,
      keepAliveMaxTimeout: 600_000,
      connect: { timeout: 10_000 },
    });
  }

  /**
   * Starts one POST. timeout_sec bounds the whole attempt, headers and body. Cancellation goes through
   * an EventEmitter signal and one timer: AbortSignal.any and AbortSignal.timeout cost ~70 µs per call.
   */
  start(event: ClaimedEvent, trigger: ResolvedTrigger, currentRetry: number): WebhookCall {
    const signal = new EventEmitter();
    let aborted = false;
    let timedOut = false;
    const abort = () => {
      if (aborted) return;
      aborted = true;
      signal.emit('abort');
    };
    const timeoutMs = trigger.retry.timeout_sec * 1000;
    const timer = setTimeout(() => {
      timedOut = true;
      abort();
    }, timeoutMs);
    const done = this.send(event, trigger, currentRetry, signal, timeoutMs).then(
      (outcome) => outcome,
      (error: unknown) => {
        if (aborted && !timedOut) return 'aborted' as const;
        const message = timedOut
          ? `timeout: no complete response within timeout_sec (${trigger.retry.timeout_sec}s)`
          : describeNetworkError(error);
        return clientError(requestLogOf(event, trigger, currentRetry), message);
      },
    );
    void done.finally(() => clearTimeout(timer));
    return {
      done,
      abort: () => {
        if (!timedOut) abort();
      },
    };
  }

  private async send(
    event: ClaimedEvent,
    trigger: ResolvedTrigger,
    currentRetry: number,
    signal: EventEmitter,
    timeoutMs: number,
  ): Promise<WebhookOutcome> {
    const body = buildBody(event, trigger, currentRetry);
    const requestLog = `{"payload":${body},"headers":${trigger.loggedHeadersJson},"version":"2"}`;
    if (!trigger.url) return clientError(requestLog, trigger.problem ?? 'the webhook URL is not configured');
    const started = performance.now();
    const res = await request(trigger.url, {
      method: 'POST',
      dispatcher: this.agent,
      signal,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      // The trigger's headers may replace the User-Agent, never the Content-Type of the JSON body.
      headers: { 'user-agent': USER_AGENT, ...trigger.headers, 'content-type': 'application/json' },
      body,
    });
    const responseBody = await readCapped(res.body, this.options.responseBodyLimit);
    const ok = res.statusCode >= 200 && res.statusCode < 300;
    const headers: Array<{ name: string; value: string }> = [];
    for (const [name, value] of Object.entries(res.headers)) {
      if (Array.isArray(value)) for (const v of value) headers.push({ name, value: v });
      else if (value !== undefined) headers.push({ name, value });
    }
    const response = JSON.stringify({
      type: 'webhook_response',
      data: { status: res.statusCode, headers, body: responseBody },
      version: '2',
    });
    const ms = Math.round(performance.now() - started);
    return {
      ok,
      status: res.statusCode,
      retryAfterMs: ok ? null : parseRetryAfter(res.headers['retry-after']),
      summary: `HTTP ${res.statusCode} in ${ms} ms`,
      log: { status: res.statusCode, request: requestLog, response },
    };
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}

function requestLogOf(event: ClaimedEvent, trigger: ResolvedTrigger, currentRetry: number): string {
  return `{"payload":${buildBody(event, trigger, currentRetry)},"headers":${trigger.loggedHeadersJson},"version":"2"}`;
}

function clientError(requestLog: string, message: string): WebhookOutcome {
  return {
    ok: false,
    status: null,
    retryAfterMs: null,
    summary: message,
    log: { status: null, request: requestLog, response: JSON.stringify({ type: 'client_error', data: { message }, version: '2' }) },
  };
}

/**
 * Reads up to `limit` bytes of a body for the log. A little more is drained so the connection can be
 * reused; a body far over the limit is cut off (the socket is closed) rather than read to the end.
 */
function readCapped(body: Readable, limit: number): Promise<string> {
  const drainLimit = Math.max(limit, 1_048_576);
  return new Promise((resolve, reject) => {
    const kept: Buffer[] = [];
    let keptBytes = 0;
    let seen = 0;
    const finish = () => resolve(Buffer.concat(kept, keptBytes).toString('utf8'));
    body.on('data', (chunk: Buffer) => {
      seen += chunk.length;
      if (keptBytes < limit) {
        const part = chunk.length <= limit - keptBytes ? chunk : chunk.subarray(0, limit - keptBytes);
        kept.push(part);
        keptBytes += part.length;
      }
      if (seen > drainLimit) {
        body.destroy();
        finish();
      }
    });
    body.on('end', finish);
    body.on('error', reject);
  });
}

/** Retry-After as ms from now: delay-seconds or an HTTP-date; null when absent or invalid. */
export function parseRetryAfter(header: string | string[] | undefined, now = Date.now()): number | null {
  const value = (Array.isArray(header) ? header[0] : header)?.trim();
  if (!value) return null;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  if (!/[a-z]/i.test(value)) return null;
  const at = Date.parse(value);
  if (Number.isNaN(at)) return null;
  return Math.max(0, at - now);
}

function describeNetworkError(error: unknown): string {
  const e = error as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = e.cause?.code ?? e.code;
  const message = e.cause?.message ?? e.message ?? String(error);
  return code ? `${code}: ${message}` : message;
}
