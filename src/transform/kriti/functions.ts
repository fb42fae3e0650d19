/**
 * The functions a template may call: Kriti's basic library (Kriti.CustomFunctions) and Hasura's
 * getSessionVariable. Each takes one value; a failure is a FunctionFailure whose message the template
 * reports at the argument, as Hasura does.
 */
import { encodePercent } from './percentEncoding.js';
import { compareNumbers, isNumber, isObject, numberText, setKey, typeOf, type KObject, type KValue } from './values.js';

export class FunctionFailure extends Error {
  override name = 'FunctionFailure';
}

/** What a function may read besides its argument. */
export interface FunctionEnv {
  /** The session variables, keys in lower case; null when the request has none. */
  sessionVariables: Readonly<Record<string, string>> | null;
}

export type KritiFunction = (arg: KValue, env: FunctionEnv) => KValue;

const fail = (message: string): never => {
  throw new FunctionFailure(message);
};

const expectString = (arg: KValue, name: string): string =>
  typeof arg === 'string' ? arg : fail(`${name}: expected a String, got ${typeOf(arg)}`);

const codePoints = (s: string): string[] => [...s];

/** Title case as Haskell's Text.toTitle: a letter after a non-letter starts a word. */
function toTitle(s: string): string {
  let previousIsLetter = false;
  let out = '';
  for (const c of s) {
    const isLetter = /\p{L}/u.test(c);
    out += isLetter ? (previousIsLetter ? c.toLowerCase() : c.toUpperCase()) : c;
    previousIsLetter = isLetter;
  }
  return out;
}

function size(arg: KValue): KValue {
  if (arg === null) return 0;
  if (typeof arg === 'boolean') return arg ? 1 : 0;
  if (typeof arg === 'string') return codePoints(arg).length;
  if (isNumber(arg)) return arg;
  if (Array.isArray(arg)) return arg.length;
  return Object.keys(arg).length;
}

function empty(arg: KValue): KValue {
  if (arg === null) return true;
  if (typeof arg === 'boolean') return fail('Cannot define emptiness for a boolean');
  if (typeof arg === 'string') return arg.trim() === '';
  if (isNumber(arg)) return compareNumbers(arg, 0) === 0;
  if (Array.isArray(arg)) return arg.length === 0;
  return Object.keys(arg).length === 0;
}

function inverse(arg: KValue): KValue {
  if (arg === null || isObject(arg)) return arg;
  if (typeof arg === 'boolean') return !arg;
  if (typeof arg === 'string') return codePoints(arg).reverse().join('');
  if (Array.isArray(arg)) return [...arg].reverse();
  if (compareNumbers(arg, 0) === 0) return fail('inverse: division by zero');
  return 1 / Number(numberText(arg));
}

function head(arg: KValue): KValue {
  if (Array.isArray(arg)) return arg.length ? arg[0]! : fail('Empty array');
  if (typeof arg === 'string') return arg.length ? codePoints(arg)[0]! : fail('Empty string');
  return fail('Expected an array or string');
}

function tail(arg: KValue): KValue {
  if (Array.isArray(arg)) return arg.length ? arg.slice(1) : fail('Empty array');
  if (typeof arg === 'string') return arg.length ? codePoints(arg).slice(1).join('') : fail('Empty string');
  return fail('Expected an array or string');
}

function fromPairs(arg: KValue): KValue {
  const shape = 'Expected an array of shape [ [k1,v1], [k2,v2] ... ] - With String keys.';
  if (!Array.isArray(arg)) return fail(shape);
  const out: KObject = {};
  for (const pair of arg) {
    if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'string') return fail(shape);
    setKey(out, pair[0], pair[1]!);
  }
  return out;
}

function toPairs(arg: KValue): KValue {
  if (!isObject(arg)) return fail(`toPairs: expected an Object, got ${typeOf(arg)}`);
  return Object.keys(arg).map((k) => [k, arg[k]!]);
}

function removeNulls(arg: KValue): KValue {
  if (!Array.isArray(arg)) return fail(`removeNulls: expected an Array, got ${typeOf(arg)}`);
  return arg.filter((v) => v !== null);
}

/** Arrays flattened one level, strings joined, or objects merged (a later key wins). */
function concat(arg: KValue): KValue {
  if (!Array.isArray(arg)) return fail(`concat: expected an Array, got ${typeOf(arg)}`);
  if (arg.every(Array.isArray)) return (arg as KValue[][]).flat(1);
  if (arg.every((v) => typeof v === 'string')) return arg.join('');
  if (arg.every(isObject)) {
    const out: KObject = {};
    for (const o of arg) for (const k of Object.keys(o)) setKey(out, k, o[k]!);
    return out;
  }
  return fail('concat: expected an Array of Arrays, of Strings or of Objects');
}

function escapeUri(arg: KValue): KValue {
  const s = expectString(arg, 'escapeUri');
  const escaped = encodePercent(s);
  return escaped ?? fail('escapeUri: the string holds an unpaired UTF-16 surrogate');
}

function not(arg: KValue): KValue {
  return typeof arg === 'boolean' ? !arg : fail(`not: expected a Boolean, got ${typeOf(arg)}`);
}

/** Hasura's getSessionVariable: case-insensitive; null for null; an error when the variable is not set. */
function getSessionVariable(arg: KValue, env: FunctionEnv): KValue {
  if (arg === null) return null;
  if (typeof arg !== 'string') return fail('Session variable name should be a string');
  const vars = env.sessionVariables;
  const key = arg.toLowerCase();
  if (vars && Object.hasOwn(vars, key)) return vars[key]!;
  return fail(`Session variable "${arg}" not found`);
}

const textFunction =
  (name: string, f: (s: string) => string): KritiFunction =>
  (arg) =>
    f(expectString(arg, name));

export const FUNCTIONS: ReadonlyMap<string, KritiFunction> = new Map<string, KritiFunction>([
  ['empty', empty],
  ['size', size],
  // Hasura's documentation names it length; Kriti's library, size. Both work.
  ['length', size],
  ['inverse', inverse],
  ['head', head],
  ['tail', tail],
  ['toCaseFold', textFunction('toCaseFold', (s) => s.toUpperCase().toLowerCase())],
  ['toLower', textFunction('toLower', (s) => s.toLowerCase())],
  ['toUpper', textFunction('toUpper', (s) => s.toUpperCase())],
  ['toTitle', textFunction('toTitle', toTitle)],
  ['escapeUri', escapeUri],
  ['fromPairs', fromPairs],
  ['toPairs', toPairs],
  ['removeNulls', removeNulls],
  ['concat', concat],
  ['not', not],
  ['getSessionVariable', getSessionVariable],
]);

export const FUNCTION_NAMES: ReadonlySet<string> = new Set(FUNCTIONS.keys());
