/**
 * W3C trace propagation: the writer's trace context (the `hasura.tracecontext` setting of the transaction
 * that changed the row, kept as the event's trace_context) becomes the webhook request's `traceparent`
 * (and `tracestate`), so the receiver's spans join the writer's trace.
 *
 * Two forms are read: W3C's own ({"traceparent", "tracestate"}) and Hasura's ({"trace_id", "span_id",
 * "sampling_state"}, Hasura.Tracing.injectEventContext). The setting is whatever the writer wrote, so
 * anything malformed is ignored rather than sent: a value holding CR or LF must never reach a header.
 */

export interface TraceHeaders {
  traceparent: string;
  tracestate?: string;
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$/;
const TRACE_ID = /^(?:[0-9a-f]{16}){1,2}$/;
const SPAN_ID = /^[0-9a-f]{16}$/;
/** W3C caps tracestate at 512 characters; printable ASCII only, so it is a safe header value. */
const TRACESTATE = /^[\x20-\x7e]{1,512}$/;
const zeros = /^0+$/;

/** The headers for an event's trace_context (JSON text, as claimed), or undefined when it has none usable. */
export function traceHeaders(traceContext: string | null | undefined): TraceHeaders | undefined {
  if (!traceContext || traceContext === 'null') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(traceContext);
  } catch {
    return undefined;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const ctx = value as Record<string, unknown>;
  const traceparent = typeof ctx.traceparent === 'string' ? w3cParent(ctx.traceparent) : hasuraParent(ctx);
  if (!traceparent) return undefined;
  const tracestate = typeof ctx.tracestate === 'string' ? ctx.tracestate.trim() : '';
  return TRACESTATE.test(tracestate) ? { traceparent, tracestate } : { traceparent };
}

function w3cParent(raw: string): string | undefined {
  const value = raw.trim().toLowerCase();
  const m = TRACEPARENT.exec(value);
  // All-zero ids are invalid in W3C Trace Context.
  return m && !zeros.test(m[1]!) && !zeros.test(m[2]!) ? value : undefined;
}

/** Hasura's form. A 64-bit trace id is padded to 128 bits, as Hasura pads B3 ids; sampled "1" sets the flag. */
function hasuraParent(ctx: Record<string, unknown>): string | undefined {
  const { trace_id: traceId, span_id: spanId, sampling_state: sampling } = ctx;
  if (typeof traceId !== 'string' || typeof spanId !== 'string') return undefined;
  const trace = traceId.toLowerCase().padStart(32, '0');
  const span = spanId.toLowerCase();
  if (!TRACE_ID.test(traceId.toLowerCase()) || !SPAN_ID.test(span) || zeros.test(trace) || zeros.test(span)) return undefined;
  return `00-${trace}-${span}-${sampling === '1' ? '01' : '00'}`;
}
