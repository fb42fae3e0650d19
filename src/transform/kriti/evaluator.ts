/**
 * Kriti's evaluator: walks a parsed template with the bound variables and computes a JSON value. Every
 * failure is a SpannedError at the part of the template that caused it (a missing key, a type that
 * does not fit, a function that refused its argument).
 *
 * Where Hasura's Kriti evaluates both sides of && and || before looking at either, these stop at the
 * left side when it decides ($x != null && $x.y works); a template that runs in Hasura gives the same
 * value here.
 */
import type { Expr, Step } from './ast.js';
import { SpannedError, type Span } from './errors.js';
import { FUNCTIONS, FunctionFailure, type FunctionEnv } from './functions.js';
import {
  compareValues,
  encodeJson,
  equalValues,
  getKey,
  isNumber,
  isObject,
  numberText,
  setKey,
  toSafeInteger,
  typeOf,
  type KObject,
  type KType,
  type KValue,
} from './values.js';

/** Variables in scope: the template's bindings, then the names a range binds. */
interface Scope {
  readonly vars: ReadonlyMap<string, KValue>;
  readonly parent: Scope | undefined;
}

function lookup(scope: Scope | undefined, name: string): KValue | undefined {
  for (let s = scope; s; s = s.parent) if (s.vars.has(name)) return s.vars.get(name);
  return undefined;
}

const mismatch = (expected: KType | 'Integer', value: KValue, span: Span) =>
  new SpannedError('Type Error', `Couldn't match expected type '${expected}' with actual type '${typeOf(value)}'.`, span);

export function evaluate(expr: Expr, bindings: ReadonlyMap<string, KValue>, env: FunctionEnv): KValue {
  return new Evaluator(env).eval(expr, { vars: bindings, parent: undefined });
}

class Evaluator {
  constructor(private readonly env: FunctionEnv) {}

  eval(expr: Expr, scope: Scope): KValue {
    switch (expr.kind) {
      case 'literal':
        return expr.value;
      case 'string':
        return this.evalString(expr.parts, scope);
      case 'array':
        return expr.items.map((item) => this.eval(item, scope));
      case 'object': {
        const out: KObject = {};
        for (const { key, value } of expr.entries) setKey(out, this.eval(key, scope) as string, this.eval(value, scope));
        return out;
      }
      case 'variable': {
        const value = lookup(scope, expr.name);
        if (value === undefined) throw new SpannedError('Name Error', `Variable '${expr.name}' not in scope.`, expr.span);
        return value;
      }
      case 'path':
        return this.evalPath(expr.base, expr.steps, scope);
      case 'call':
        return this.evalCall(expr.name, expr.arg, scope);
      case 'binary':
        return this.evalBinary(expr, scope);
      case 'if': {
        for (const branch of expr.branches) {
          const condition = this.eval(branch.condition, scope);
          if (typeof condition !== 'boolean') throw mismatch('Boolean', condition, branch.condition.span);
          if (condition) return this.eval(branch.then, scope);
        }
        return this.eval(expr.otherwise, scope);
      }
      case 'range': {
        const source = this.eval(expr.source, scope);
        if (!Array.isArray(source)) throw mismatch('Array', source, expr.source.span);
        return source.map((item, i) => {
          const vars = new Map<string, KValue>([[expr.item, item]]);
          if (expr.index !== undefined) vars.set(expr.index, i);
          return this.eval(expr.body, { vars, parent: scope });
        });
      }
    }
  }

  /** Strings as they are, anything else as its JSON text (null as "null"), as Kriti interpolates. */
  private evalString(parts: Array<string | Expr>, scope: Scope): string {
    let out = '';
    for (const part of parts) {
      if (typeof part === 'string') {
        out += part;
        continue;
      }
      const value = this.eval(part, scope);
      out += typeof value === 'string' ? value : isNumber(value) ? numberText(value) : encodeJson(value);
    }
    return out;
  }

  /**
   * A chain of lookups. An optional step (?.) on null or on a missing key ends the whole chain with
   * null, as in JavaScript, so `$body?.a.b.c` is null when a is missing; so does an unbound variable
   * before one.
   */
  private evalPath(base: Expr, steps: Step[], scope: Scope): KValue {
    let value: KValue;
    if (base.kind === 'variable' && steps[0]!.optional && lookup(scope, base.name) === undefined) return null;
    value = this.eval(base, scope);
    for (const step of steps) {
      if (step.optional && value === null) return null;
      const key = typeof step.key === 'string' ? step.key : this.eval(step.key, scope);
      const found = this.lookupStep(value, key, step);
      if (found === undefined) return null;
      value = found;
    }
    return value;
  }

  /** The value at key, or undefined when an optional step finds nothing. */
  private lookupStep(value: KValue, key: KValue, step: Step): KValue | undefined {
    const keySpan = typeof step.key === 'string' ? step.span : step.key.span;
    if (isObject(value)) {
      if (typeof key !== 'string') throw mismatch('String', key, keySpan);
      const found = getKey(value, key);
      if (found !== undefined || step.optional) return found;
      throw new SpannedError('Attribute Error', `'Object' has no attribute '${key}'.`, step.span);
    }
    if (Array.isArray(value)) {
      const index = isNumber(key) ? toSafeInteger(key) : undefined;
      if (index === undefined) throw mismatch('Integer', key, keySpan);
      if (index >= 0 && index < value.length) return value[index]!;
      if (step.optional) return undefined;
      throw new SpannedError('Index Error', `Index ${index} out of range for an array of ${value.length}.`, step.span);
    }
    throw mismatch(typeof key === 'string' ? 'Object' : 'Array', value, step.span);
  }

  private evalCall(name: string, argExpr: Expr, scope: Scope): KValue {
    const f = FUNCTIONS.get(name);
    const arg = this.eval(argExpr, scope);
    if (!f) throw new SpannedError('Function Error', `Function ${name} is not defined.`, argExpr.span);
    try {
      return f(arg, this.env);
    } catch (error) {
      if (error instanceof FunctionFailure) throw new SpannedError('Function Error', error.message, argExpr.span);
      throw error;
    }
  }

  private evalBinary(expr: Expr & { kind: 'binary' }, scope: Scope): KValue {
    const { op, left, right } = expr;
    if (op === '&&' || op === '||') {
      const l = this.eval(left, scope);
      if (typeof l !== 'boolean') throw mismatch('Boolean', l, left.span);
      if (op === '&&' ? !l : l) return l;
      const r = this.eval(right, scope);
      if (typeof r !== 'boolean') throw mismatch('Boolean', r, right.span);
      return r;
    }
    if (op === '??') {
      const l = this.eval(left, scope);
      return l === null ? this.eval(right, scope) : l;
    }
    const l = this.eval(left, scope);
    const r = this.eval(right, scope);
    switch (op) {
      case '==':
        return equalValues(l, r);
      case '!=':
        return !equalValues(l, r);
      case '>':
        return compareValues(l, r) > 0;
      case '<':
        return compareValues(l, r) < 0;
      case '>=':
        return compareValues(l, r) >= 0;
      case '<=':
        return compareValues(l, r) <= 0;
      case 'in':
        if (isObject(r)) {
          if (typeof l !== 'string') throw mismatch('String', l, left.span);
          return Object.hasOwn(r, l);
        }
        if (Array.isArray(r)) return r.some((item) => equalValues(item, l));
        throw mismatch('Array', r, right.span);
    }
  }
}
