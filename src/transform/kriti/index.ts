/**
 * Kriti, Hasura's JSON templating language, in TypeScript. A template is compiled once (tokenized and
 * parsed; a syntax error or a call to an unknown function is a KritiError) and then run any number of
 * times against bound variables. Pure: no I/O, no clock, no environment.
 *
 *   compileTemplate('{"name": {{ $body.user.name }}}', 'template').run({ $body: ... })
 *   compileTemplate('{{ $base_url }}/users', 'string').run(...)   // text with {{ }}: always a string
 */
import type { Expr } from './ast.js';
import { KritiError, SpannedError, type KritiErrorCode } from './errors.js';
import { evaluate } from './evaluator.js';
import { FUNCTION_NAMES, type FunctionEnv } from './functions.js';
import { parse } from './parser.js';
import type { TokenizeMode } from './tokenizer.js';
import type { KValue } from './values.js';

export { KritiError, type HasuraKritiError, type SourcePosition } from './errors.js';
export type { FunctionEnv } from './functions.js';
export { encodePercent, decodeQueryComponent } from './percentEncoding.js';
export { encodeJson, parseExact, isNumber, numberText, typeOf, type KValue, type KObject } from './values.js';

/** 'template': a whole Kriti template (JSON with expressions). 'string': text with {{ }} interpolations. */
export type TemplateMode = TokenizeMode;

export interface CompiledTemplate {
  readonly source: string;
  /** Runs the template; throws a KritiError when it fails (a missing key, a type error...). */
  run(bindings: Readonly<Record<string, KValue>>, env?: FunctionEnv): KValue;
}

const NO_SESSION: FunctionEnv = { sessionVariables: null };

export function compileTemplate(source: string, mode: TemplateMode): CompiledTemplate {
  let ast: Expr;
  try {
    ast = parse(source, mode, FUNCTION_NAMES);
  } catch (error) {
    throw toKritiError(error, source, 'Parse Error');
  }
  return {
    source,
    run(bindings, env = NO_SESSION) {
      try {
        return evaluate(ast, new Map(Object.entries(bindings)), env);
      } catch (error) {
        throw toKritiError(error, source, 'Type Error');
      }
    },
  };
}

function toKritiError(error: unknown, source: string, tooDeep: KritiErrorCode): unknown {
  if (error instanceof SpannedError) return new KritiError(error, source);
  // Recursion on a template or value nested thousands deep: an error of the template, not of the daemon.
  if (error instanceof RangeError) {
    return new KritiError(new SpannedError(tooDeep, 'nested too deeply', { start: 0, end: 0 }), source);
  }
  return error;
}
