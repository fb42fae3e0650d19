/**
 * API errors in Hasura's wire shape: {"path", "error", "code"}. Every failure an operation can meet
 * is one of these; anything else is an internal error whose details stay in the log.
 */

/**
 * Hasura's error codes, plus the transport's own (access-denied, not-found). permission-denied (also
 * Hasura's) is the daemon's database role lacking a privilege: the API caller is admitted, the role is not.
 */
export type ErrorCode =
  | 'parse-failed'
  | 'not-exists'
  | 'already-exists'
  | 'not-supported'
  | 'invalid-configuration'
  | 'busy'
  | 'validation-failed'
  | 'permission-denied'
  | 'access-denied'
  | 'not-found'
  | 'unexpected';

export interface WireError {
  path: string;
  error: string;
  code: ErrorCode;
  /** Hasura's details of a validation-failed: the template errors ({"error_code", "message", "source_position"}). */
  internal?: unknown;
}

export class ApiError extends Error {
  override name = 'ApiError';
  /** See WireError.internal. */
  internal: unknown;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly path = '$',
    readonly httpStatus = code === 'access-denied' ? 401 : code === 'not-found' ? 404 : code === 'unexpected' ? 500 : 400,
  ) {
    super(message);
  }

  /** The same error at another path (e.g. inside a bulk request). */
  at(path: string): ApiError {
    return new ApiError(this.code, this.message, path, this.httpStatus).withInternal(this.internal);
  }

  withInternal(internal: unknown): this {
    this.internal = internal;
    return this;
  }

  toWire(): WireError {
    const wire: WireError = { path: this.path, error: this.message, code: this.code };
    if (this.internal !== undefined) wire.internal = this.internal;
    return wire;
  }
}

/** Renders a JSON path the way Hasura does: $.args.insert.columns[0] */
export function jsonPath(base: string, segments: readonly PropertyKey[]): string {
  let out = base;
  for (const s of segments) {
    if (typeof s === 'number') out += `[${s}]`;
    else if (typeof s === 'string' && /^[A-Za-z_][A-Za-z0-9_]*$/.test(s)) out += `.${s}`;
    else out += `[${JSON.stringify(String(s))}]`;
  }
  return out;
}

/**
 * Where an operation's own refusals are reported (not-exists, already-exists, busy...): Hasura runs every
 * operation under withPathK "args" (runQueryM, runMetadataQueryM) and adds no deeper key, so they all read
 * "$.args" (in a bulk, "$.args[i].args"). Malformed args are parse failures, with the offending key's path.
 */
export const OPERATION_PATH = '$.args';

export const internalError = () => new ApiError('unexpected', 'internal error: see the daemon log', '$', 500);
