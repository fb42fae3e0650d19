/**
 * Kriti's errors. Inside the tokenizer, parser and evaluator a failure is a SpannedError (what went
 * wrong, and where in the source); the template that ran turns it into a KritiError, which knows its
 * line and column and renders itself as Hasura does ({"error_code", "message", "source_position"}).
 */

/** Hasura's error codes (Kriti's ErrorCode, as rendered in its answers). */
export type KritiErrorCode =
  'Lex Error' | 'Parse Error' | 'Name Error' | 'Attribute Error' | 'Type Error' | 'Index Error' | 'Function Error';

/** Offsets in the source, in UTF-16 units: start inclusive, end exclusive. */
export interface Span {
  start: number;
  end: number;
}

export class SpannedError extends Error {
  override name = 'SpannedError';
  constructor(
    readonly code: KritiErrorCode,
    readonly detail: string,
    readonly span: Span,
  ) {
    super(detail);
  }
}

/** Where an error is, as Hasura reports it: lines from 0, columns from 1, the end column past the end. */
export interface SourcePosition {
  start_line: number;
  start_column: number;
  end_line: number;
  end_column: number;
}

/** An error as Hasura answers it (its TransformErrorBundle holds a list of these). */
export interface HasuraKritiError {
  error_code: KritiErrorCode;
  message: string;
  source_position: SourcePosition;
}

export class KritiError extends Error {
  override name = 'KritiError';
  readonly code: KritiErrorCode;
  readonly detail: string;
  readonly position: SourcePosition;

  constructor(error: SpannedError, source: string) {
    const start = locate(source, error.span.start);
    const end = locate(source, Math.max(error.span.end, error.span.start));
    super(`${error.code} at line ${start.line + 1}, column ${start.column}: ${error.detail}`);
    this.code = error.code;
    this.detail = error.detail;
    this.position = { start_line: start.line, start_column: start.column, end_line: end.line, end_column: end.column };
  }

  toHasura(): HasuraKritiError {
    return { error_code: this.code, message: this.detail, source_position: this.position };
  }
}

/** Line (from 0) and column (from 1, in characters) of an offset. */
function locate(source: string, offset: number): { line: number; column: number } {
  const before = source.slice(0, Math.min(offset, source.length));
  const lineStart = before.lastIndexOf('\n') + 1;
  let line = 0;
  for (let i = before.indexOf('\n'); i !== -1; i = before.indexOf('\n', i + 1)) line += 1;
  return { line, column: [...before.slice(lineStart)].length + 1 };
}
