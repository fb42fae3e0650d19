/** The parsed form of a Kriti template: what the parser builds and the evaluator walks. */
import type { Span } from './errors.js';
import type { KValue } from './values.js';

export type BinaryOp = '==' | '!=' | '>' | '<' | '>=' | '<=' | '&&' | '||' | '??' | 'in';

/** One lookup of a path: `.key`, `['key']`, `[0]`, `[expr]`, or the optional `?.` forms. */
export interface Step {
  key: string | Expr;
  optional: boolean;
  span: Span;
}

export type Expr = { span: Span } & (
  | { kind: 'literal'; value: KValue }
  /** "text {{ expr }} text": text parts and interpolated expressions, joined into a string. */
  | { kind: 'string'; parts: Array<string | Expr> }
  | { kind: 'array'; items: Expr[] }
  | { kind: 'object'; entries: Array<{ key: Expr; value: Expr }> }
  | { kind: 'variable'; name: string }
  | { kind: 'path'; base: Expr; steps: Step[] }
  | { kind: 'call'; name: string; arg: Expr; nameSpan: Span }
  | { kind: 'binary'; op: BinaryOp; left: Expr; right: Expr }
  | { kind: 'if'; branches: Array<{ condition: Expr; then: Expr }>; otherwise: Expr }
  | { kind: 'range'; index: string | undefined; item: string; source: Expr; body: Expr }
);
