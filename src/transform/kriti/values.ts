/**
 * The JSON values Kriti computes with. Numbers keep every digit: a number read from JSON text is a
 * LosslessNumber (its text), a number from elsewhere may be a plain JS number; both compare by their
 * exact decimal value, as Haskell's Scientific does in Hasura's Kriti.
 */
import { isLosslessNumber, LosslessNumber, parse, stringify } from 'lossless-json';

export type KValue = null | boolean | string | number | LosslessNumber | KValue[] | KObject;
export interface KObject {
  [key: string]: KValue;
}

export type KType = 'Object' | 'Array' | 'String' | 'Number' | 'Boolean' | 'Null';

/** Kriti's (and aeson's) name of a value's type, as its error messages say it. */
export function typeOf(value: KValue): KType {
  if (value === null) return 'Null';
  if (typeof value === 'string') return 'String';
  if (typeof value === 'boolean') return 'Boolean';
  if (typeof value === 'number' || isLosslessNumber(value)) return 'Number';
  if (Array.isArray(value)) return 'Array';
  return 'Object';
}

export const isNumber = (value: KValue): value is number | LosslessNumber => typeof value === 'number' || isLosslessNumber(value);

export const isObject = (value: KValue): value is KObject =>
  value !== null && typeof value === 'object' && !Array.isArray(value) && !isLosslessNumber(value);

/** A number from its JSON text, exact. */
export const numberFromText = (text: string): LosslessNumber => new LosslessNumber(text);

/** The JSON text of a number, every digit kept. */
export const numberText = (value: number | LosslessNumber): string => (typeof value === 'number' ? String(value) : value.value);

/** Sets a key on an object without ever reaching Object.prototype ("__proto__" is an ordinary key here). */
export function setKey(target: KObject, key: string, value: KValue): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

export const getKey = (target: KObject, key: string): KValue | undefined => (Object.hasOwn(target, key) ? target[key] : undefined);

/** A number's exact decimal value: sign, significant digits without leading or trailing zeros, exponent. */
interface Decimal {
  sign: -1 | 0 | 1;
  digits: string;
  exponent: number;
}

const NUMBER_TEXT = /^(-)?(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;

function decimalOf(value: number | LosslessNumber): Decimal {
  const match = NUMBER_TEXT.exec(numberText(value));
  if (!match) return { sign: 0, digits: '', exponent: 0 };
  const fraction = match[3] ?? '';
  let digits = (match[2]! + fraction).replace(/^0+/, '');
  let exponent = Number(match[4] ?? 0) - fraction.length;
  if (digits === '') return { sign: 0, digits: '', exponent: 0 };
  const trailing = /0+$/.exec(digits)?.[0].length ?? 0;
  digits = digits.slice(0, digits.length - trailing);
  exponent += trailing;
  return { sign: match[1] ? -1 : 1, digits, exponent };
}

/** -1, 0 or 1 as a is below, equal to or above b, exactly (1.0 equals 1, 1e2 equals 100). */
export function compareNumbers(a: number | LosslessNumber, b: number | LosslessNumber): -1 | 0 | 1 {
  const x = decimalOf(a);
  const y = decimalOf(b);
  if (x.sign !== y.sign) return x.sign < y.sign ? -1 : 1;
  if (x.sign === 0) return 0;
  const magnitude = (d: Decimal) => d.digits.length + d.exponent;
  let order: -1 | 0 | 1;
  if (magnitude(x) !== magnitude(y)) {
    order = magnitude(x) < magnitude(y) ? -1 : 1;
  } else {
    const width = Math.max(x.digits.length, y.digits.length);
    const dx = x.digits.padEnd(width, '0');
    const dy = y.digits.padEnd(width, '0');
    order = dx === dy ? 0 : dx < dy ? -1 : 1;
  }
  return x.sign < 0 ? ((-order || 0) as -1 | 0 | 1) : order;
}

/** The number as a JS integer, or undefined when it is not a whole number a JS number holds exactly. */
export function toSafeInteger(value: number | LosslessNumber): number | undefined {
  const n = Number(numberText(value));
  return Number.isSafeInteger(n) && compareNumbers(value, n) === 0 ? n : undefined;
}

/** Compares strings by code point, as Haskell's Text does (JS's < compares UTF-16 units). */
function compareStrings(a: string, b: string): -1 | 0 | 1 {
  if (a === b) return 0;
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const cx = x[i]!.codePointAt(0)!;
    const cy = y[i]!.codePointAt(0)!;
    if (cx !== cy) return cx < cy ? -1 : 1;
  }
  return x.length === y.length ? 0 : x.length < y.length ? -1 : 1;
}

/** aeson's constructor order, which its derived Ord on Value follows. */
const TYPE_RANK: Record<KType, number> = { Object: 0, Array: 1, String: 2, Number: 3, Boolean: 4, Null: 5 };

/**
 * The total order Hasura's Kriti compares values with (aeson's Ord on Value): values of different types
 * by type (Object < Array < String < Number < Boolean < Null), numbers by value, strings by code point,
 * arrays element by element, objects as their entries sorted by key.
 */
export function compareValues(a: KValue, b: KValue): -1 | 0 | 1 {
  const ta = typeOf(a);
  const tb = typeOf(b);
  if (ta !== tb) return TYPE_RANK[ta] < TYPE_RANK[tb] ? -1 : 1;
  switch (ta) {
    case 'Null':
      return 0;
    case 'Boolean':
      return a === b ? 0 : a === false ? -1 : 1;
    case 'Number':
      return compareNumbers(a as number | LosslessNumber, b as number | LosslessNumber);
    case 'String':
      return compareStrings(a as string, b as string);
    case 'Array':
      return compareLists(a as KValue[], b as KValue[]);
    case 'Object': {
      const entries = (o: KObject) =>
        Object.keys(o)
          .sort(compareStrings)
          .flatMap((k): KValue[] => [k, o[k]!]);
      return compareLists(entries(a as KObject), entries(b as KObject));
    }
  }
}

function compareLists(a: KValue[], b: KValue[]): -1 | 0 | 1 {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const order = compareValues(a[i]!, b[i]!);
    if (order !== 0) return order;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

/** Deep equality: numbers by value, objects whatever their key order. */
export function equalValues(a: KValue, b: KValue): boolean {
  const ta = typeOf(a);
  if (ta !== typeOf(b)) return false;
  if (ta === 'Object') {
    const x = a as KObject;
    const y = b as KObject;
    const keys = Object.keys(x);
    return keys.length === Object.keys(y).length && keys.every((k) => Object.hasOwn(y, k) && equalValues(x[k]!, y[k]!));
  }
  if (ta === 'Array') {
    const x = a as KValue[];
    const y = b as KValue[];
    return x.length === y.length && x.every((v, i) => equalValues(v, y[i]!));
  }
  return compareValues(a, b) === 0;
}

/** JSON text of a value, numbers digit for digit. */
export function encodeJson(value: KValue): string {
  return stringify(value) ?? 'null';
}

/** Parses JSON text keeping every number exact (as LosslessNumber). */
export function parseExact(text: string): KValue {
  return parse(text, null, numberFromText) as KValue;
}
