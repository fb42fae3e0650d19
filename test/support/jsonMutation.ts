/**
 * Structured mutations of JSON requests for the property tests: drop a key or an element, add a key,
 * swap a value's type, replace it by something hostile (huge numbers, 63+ byte identifiers, SQL in
 * strings, deep nesting), duplicate a key in the raw text. A mutation names its target by an index
 * into the document's nodes, so fast-check can shrink it like any number.
 */
import fc from 'fast-check';
import { DupObject, RawText, deeplyNested, toJsonText } from './jsonText.js';
import { anyIdentifierString, SQL_FRAGMENTS, UNSTORABLE_STRINGS } from './nastyStrings.js';

export type Segment = string | number;
type Path = Segment[];
type Plain = Record<string, unknown>;

export type Mutation =
  | { kind: 'drop'; at: number }
  | { kind: 'replace'; at: number; value: unknown }
  | { kind: 'swapType'; at: number; to: 'number' | 'string' | 'array' | 'object' | 'null' | 'boolean' }
  | { kind: 'addKey'; at: number; key: string; value: unknown }
  | { kind: 'duplicateKey'; at: number; pick: number; same: boolean; value: unknown }
  | { kind: 'nest'; at: number; depth: number; as: 'array' | 'object' }
  | { kind: 'taint'; at: number; target: 'value' | 'key'; fragment: string; position: number }
  | { kind: 'set'; path: readonly Segment[]; value: unknown };

const isPlainObject = (v: unknown): v is Plain =>
  v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof RawText) && !(v instanceof DupObject);

/** Sets an own key, "__proto__" included (plain assignment would change the prototype). */
function setOwn(target: Plain, key: string, value: unknown) {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function cloneObject(o: Plain): Plain {
  const copy: Plain = {};
  for (const k of Object.keys(o)) setOwn(copy, k, o[k]);
  return copy;
}

/** Every node of a document, parents before children; RawText and DupObject are leaves. */
export function nodePaths(value: unknown): Path[] {
  const out: Path[] = [];
  const walk = (v: unknown, path: Path) => {
    out.push(path);
    if (Array.isArray(v)) v.forEach((x, i) => walk(x, [...path, i]));
    else if (isPlainObject(v)) for (const k of Object.keys(v)) walk(v[k], [...path, k]);
  };
  walk(value, []);
  return out;
}

const DELETE = Symbol('delete');

function getAt(root: unknown, path: Path): unknown {
  let node = root;
  for (const s of path) node = Array.isArray(node) ? node[s as number] : (node as Plain)[s as string];
  return node;
}

function updateAt(node: unknown, path: Path, fn: (v: unknown) => unknown): unknown {
  if (path.length === 0) return fn(node);
  const [head, ...rest] = path;
  if (Array.isArray(node)) {
    const copy = node.slice();
    const next = updateAt(copy[head as number], rest, fn);
    if (next === DELETE) copy.splice(head as number, 1);
    else copy[head as number] = next;
    return copy;
  }
  const copy = cloneObject(node as Plain);
  const next = updateAt((node as Plain)[head as string], rest, fn);
  if (next === DELETE) delete copy[head as string];
  else setOwn(copy, head as string, next);
  return copy;
}

/** The path itself if it names an object (or an array, when allowed), else its nearest such ancestor. */
function containerPath(root: unknown, path: Path, arrays: boolean): Path | undefined {
  for (let p = path; ; p = p.slice(0, -1)) {
    const node = getAt(root, p);
    if (isPlainObject(node) || (arrays && Array.isArray(node))) return p;
    if (p.length === 0) return undefined;
  }
}

function swapType(v: unknown, to: Extract<Mutation, { kind: 'swapType' }>['to']): unknown {
  const text = typeof v === 'string' ? v : toJsonText(v);
  switch (to) {
    case 'number':
      if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
      if (Array.isArray(v)) return v.length;
      return typeof v === 'number' ? -v : 1;
    case 'string':
      return text;
    case 'array':
      return Array.isArray(v) ? v.map((x) => (typeof x === 'string' ? x : toJsonText(x))) : [v];
    case 'object':
      return Array.isArray(v) ? Object.fromEntries(v.map((x, i) => [String(i), x])) : { value: v };
    case 'null':
      return null;
    case 'boolean':
      return typeof v === 'boolean' ? !v : Boolean(v);
  }
}

/**
 * Sets the value at a path. A missing key or element is created; a path that runs through a value of
 * another kind (an index into an object, a key into an array or a string) leaves the document as it is.
 */
function setAt(node: unknown, path: readonly Segment[], value: unknown): unknown {
  if (path.length === 0) return value;
  const [head, ...rest] = path as [Segment, ...Segment[]];
  if (typeof head === 'number') {
    if (node !== undefined && !Array.isArray(node)) return node;
    const copy = Array.isArray(node) ? node.slice() : [];
    const index = Math.min(head, copy.length);
    copy[index] = setAt(copy[index], rest, value);
    return copy;
  }
  if (node !== undefined && !isPlainObject(node)) return node;
  const copy = isPlainObject(node) ? cloneObject(node) : {};
  setOwn(copy, head, setAt(copy[head], rest, value));
  return copy;
}

export function applyMutation(doc: unknown, m: Mutation): unknown {
  if (m.kind === 'set') return setAt(doc, m.path, m.value);
  const paths = nodePaths(doc);
  const path = paths[m.at % paths.length]!;
  switch (m.kind) {
    case 'drop':
      return path.length === 0 ? new RawText('') : updateAt(doc, path, () => DELETE);
    case 'replace':
      return updateAt(doc, path, () => m.value);
    case 'swapType':
      return updateAt(doc, path, (v) => swapType(v, m.to));
    case 'nest':
      return updateAt(doc, path, (v) => {
        const inner = toJsonText(v);
        return m.as === 'array'
          ? new RawText('['.repeat(m.depth) + inner + ']'.repeat(m.depth))
          : new RawText('{"a":'.repeat(m.depth) + inner + '}'.repeat(m.depth));
      });
    case 'addKey': {
      const target = containerPath(doc, path, true);
      if (!target) return { [m.key]: m.value };
      return updateAt(doc, target, (v) => {
        if (Array.isArray(v)) return [...v, m.value];
        const copy = cloneObject(v as Plain);
        setOwn(copy, m.key, m.value);
        return copy;
      });
    }
    case 'duplicateKey': {
      const target = containerPath(doc, path, false);
      if (!target) return doc;
      return updateAt(doc, target, (v) => {
        const entries = Object.entries(v as Plain);
        if (entries.length === 0)
          return new DupObject([
            ['a', 1],
            ['a', m.same ? 1 : m.value],
          ]);
        const [key, original] = entries[m.pick % entries.length]!;
        return new DupObject([...entries, [key, m.same ? original : m.value]]);
      });
    }
    case 'taint':
      return taint(doc, m);
  }
}

/** Inserts `fragment` into `s` at a position chosen by `position`, never inside a surrogate pair. */
function insertInto(s: string, fragment: string, position: number): string {
  const points = Array.from(s);
  const at = position % (points.length + 1);
  return [...points.slice(0, at), fragment, ...points.slice(at)].join('');
}

function taint(doc: unknown, m: Extract<Mutation, { kind: 'taint' }>): unknown {
  const paths = nodePaths(doc);
  if (m.target === 'value') {
    const strings = paths.filter((p) => typeof getAt(doc, p) === 'string');
    if (strings.length === 0) return doc;
    const path = strings[m.at % strings.length]!;
    return updateAt(doc, path, (v) => insertInto(v as string, m.fragment, m.position));
  }
  const objects = paths.filter((p) => {
    const v = getAt(doc, p);
    return isPlainObject(v) && Object.keys(v).length > 0;
  });
  if (objects.length === 0) return doc;
  return updateAt(doc, objects[m.at % objects.length]!, (v) => {
    const copy: Plain = {};
    const keys = Object.keys(v as Plain);
    const renamed = keys[m.position % keys.length]!;
    for (const k of keys) setOwn(copy, k === renamed ? insertInto(k, m.fragment, m.position) : k, (v as Plain)[k]);
    return copy;
  });
}

export function applyMutations(doc: unknown, mutations: readonly Mutation[]): unknown {
  return mutations.reduce(applyMutation, doc);
}

/** Numbers a double cannot hold, or that PostgreSQL's integers cannot. */
const hugeNumbers = fc
  .constantFrom(
    '123456789012345678901234567890',
    '-123456789012345678901234567890',
    '9007199254740993',
    '9223372036854775808',
    '1e400',
    '-1e400',
    '1e-400',
    '-0.0',
    '0.1e1',
    '1E2',
    // Beyond PostgreSQL's numeric: 131072 digits before the point, 16383 after.
    '1e131072',
    '-1e999999',
    '1e-16384',
    `0.${'0'.repeat(20_000)}1`,
    `1${'0'.repeat(140_000)}`,
  )
  .map((t) => new RawText(t));

const edgeValues = fc.constantFrom<unknown>(
  null,
  true,
  false,
  0,
  -0,
  -1,
  1.5,
  -1.5,
  2 ** 31,
  2 ** 31 - 1,
  -(2 ** 31),
  2 ** 53 - 1,
  -(2 ** 53 - 1),
  1e21,
  1e308,
  -1e308,
  5e-324,
  '',
  ' ',
  '*',
  'default',
  'pending',
  'all',
  '0',
  '-1',
  'true',
  'null',
  [],
  {},
  [null],
  ['*'],
  [''],
  { columns: '*' },
  'http://127.0.0.1:9/\u0000',
  'http://127.0.0.1:9/\ud800',
  'http://[::1',
  'javascript:alert(1)',
  'file:///etc/passwd',
  ...UNSTORABLE_STRINGS,
  [...UNSTORABLE_STRINGS],
  { '\u0000': 1 },
  { '\ud800': '\udfff' },
);

const deepValues = fc
  .tuple(fc.constantFrom(2, 10, 100, 1_000, 2_500, 3_500, 5_000, 20_000, 100_000), fc.constantFrom<'array' | 'object'>('array', 'object'))
  .map(([depth, kind]) => deeplyNested(depth, kind));

/** A value to put where a valid one was. */
export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: edgeValues },
  { weight: 3, arbitrary: hugeNumbers },
  { weight: 4, arbitrary: anyIdentifierString },
  { weight: 2, arbitrary: fc.constantFrom(...UNSTORABLE_STRINGS) },
  { weight: 1, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.double() },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }) },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.array(anyIdentifierString, { maxLength: 4 }) },
  { weight: 1, arbitrary: fc.dictionary(anyIdentifierString, anyIdentifierString, { maxKeys: 3 }) },
  { weight: 2, arbitrary: deepValues },
  { weight: 1, arbitrary: fc.integer({ min: 1_000, max: 300_000 }).map((n) => 'x'.repeat(n)) },
);

const hostileKey = fc.oneof(
  fc.constantFrom(
    '__proto__',
    'constructor',
    'prototype',
    'toString',
    'hasOwnProperty',
    '',
    'type',
    'args',
    'name',
    'table',
    'jsonrpc',
    'id',
    'method',
    'params',
    'source',
    'version',
    'resource_version',
    'request_transform',
    'response_transform',
    'cleanup_config',
    'payload',
    'columns',
    'replace',
    'webhook',
    'webhook_from_env',
    'insert',
    'headers',
  ),
  anyIdentifierString,
);

export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('drop' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), value: hostileValue }),
  fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), value: hostileValue }),
  fc.record({
    kind: fc.constant('taint' as const),
    at: fc.nat(),
    target: fc.constantFrom('value', 'value', 'key'),
    fragment: fc.constantFrom(...SQL_FRAGMENTS, ...UNSTORABLE_STRINGS),
    position: fc.nat(),
  }),
  fc.record({
    kind: fc.constant('swapType' as const),
    at: fc.nat(),
    to: fc.constantFrom('number', 'string', 'array', 'object', 'null', 'boolean'),
  }),
  fc.record({ kind: fc.constant('addKey' as const), at: fc.nat(), key: hostileKey, value: hostileValue }),
  fc.record({ kind: fc.constant('duplicateKey' as const), at: fc.nat(), pick: fc.nat(), same: fc.boolean(), value: hostileValue }),
  fc.record({
    kind: fc.constant('nest' as const),
    at: fc.nat(),
    depth: fc.constantFrom(1, 3, 50, 1_200, 2_500, 3_500, 50_000),
    as: fc.constantFrom('array', 'object'),
  }),
);

/** Hostile values put where the API reads something that reaches SQL or the catalog. */
export function targetedMutation(paths: ReadonlyArray<readonly Segment[]>): fc.Arbitrary<Mutation> {
  return fc.record({ kind: fc.constant('set' as const), path: fc.constantFrom(...paths), value: hostileValue });
}
