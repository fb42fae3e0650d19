/**
 * Kriti's tokenizer. Like Kriti's own lexer it keeps a stack of modes: code (JSON and expressions),
 * expression (inside "{{ }}"), and string (inside quotes, where only "{{" is special). A "{{" opens an
 * expression in any mode and its "}}" returns to the mode it came from, so a string can hold
 * "{{ expressions }}" that hold strings, and so on.
 *
 * Unlike Kriti's, a "}}" that closes nested objects inside an expression ({{ {"a": {"b": 1}} }}) is read
 * as the two braces it is: the tokenizer counts the single braces each expression opened.
 */
import { SpannedError } from './errors.js';

export type Punct =
  | '{{'
  | '}}'
  | '{'
  | '}'
  | '['
  | ']'
  | '('
  | ')'
  | ','
  | ':'
  | ':='
  | '.'
  | '?.'
  | '?['
  | '??'
  | '=='
  | '!='
  | '>='
  | '<='
  | '>'
  | '<'
  | '&&'
  | '||'
  | '_';

interface At {
  start: number;
  end: number;
}

export type Token =
  | (At & { kind: 'punct'; value: Punct })
  | (At & { kind: 'ident'; value: string })
  | (At & { kind: 'number'; text: string })
  | (At & { kind: 'stringStart'; quote: '"' | "'" })
  | (At & { kind: 'text'; value: string })
  | (At & { kind: 'stringEnd' })
  | (At & { kind: 'eof' });

/** Where tokenizing starts: a whole template (JSON with expressions), or the text of a string. */
export type TokenizeMode = 'template' | 'string';

type Frame = { mode: 'code' | 'expr'; braces: number } | { mode: 'string'; quote: '"' | "'" | null; start: number };

/** Longest first, so "??" wins over "?." and ":=" over ":". */
const PUNCTS: Punct[] = ['{{', '?.', '?[', '??', ':=', '==', '!=', '>=', '<=', '&&', '||', '[', ']', '(', ')', ',', ':', '.', '>', '<'];

const IDENT = /\$?[A-Za-z][A-Za-z0-9_$-]*|\$/y;
const NUMBER = /-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const WHITESPACE = /[ \t\r\n]+/y;

const ESCAPES: Record<string, string> = { '"': '"', "'": "'", '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

export function tokenize(source: string, mode: TokenizeMode): Token[] {
  const tokens: Token[] = [];
  const frames: Frame[] = [mode === 'template' ? { mode: 'code', braces: 0 } : { mode: 'string', quote: null, start: 0 }];
  let at = 0;
  const push = (token: Token) => tokens.push(token);

  while (at < source.length) {
    const frame = frames[frames.length - 1]!;
    if (frame.mode === 'string') {
      at = readString(source, at, frame, frames, push);
      continue;
    }
    WHITESPACE.lastIndex = at;
    if (WHITESPACE.test(source)) {
      at = WHITESPACE.lastIndex;
      continue;
    }
    const c = source[at]!;
    if (c === '#') {
      const eol = source.indexOf('\n', at);
      at = eol === -1 ? source.length : eol + 1;
      continue;
    }
    if (c === '"' || c === "'") {
      frames.push({ mode: 'string', quote: c, start: at });
      push({ kind: 'stringStart', quote: c, start: at, end: at + 1 });
      at += 1;
      continue;
    }
    if (c === '}') {
      if (source[at + 1] === '}' && frame.braces === 0 && frame.mode === 'expr') {
        frames.pop();
        push({ kind: 'punct', value: '}}', start: at, end: at + 2 });
        at += 2;
      } else {
        if (frame.braces > 0) frame.braces -= 1;
        push({ kind: 'punct', value: '}', start: at, end: at + 1 });
        at += 1;
      }
      continue;
    }
    const punct = PUNCTS.find((p) => source.startsWith(p, at));
    if (punct) {
      if (punct === '{{') frames.push({ mode: 'expr', braces: 0 });
      push({ kind: 'punct', value: punct, start: at, end: at + punct.length });
      at += punct.length;
      continue;
    }
    if (c === '{') {
      frame.braces += 1;
      push({ kind: 'punct', value: '{', start: at, end: at + 1 });
      at += 1;
      continue;
    }
    NUMBER.lastIndex = at;
    const number = NUMBER.exec(source);
    if (number) {
      push({ kind: 'number', text: number[0], start: at, end: NUMBER.lastIndex });
      at = NUMBER.lastIndex;
      continue;
    }
    IDENT.lastIndex = at;
    const ident = IDENT.exec(source);
    if (ident) {
      push({ kind: 'ident', value: ident[0], start: at, end: IDENT.lastIndex });
      at = IDENT.lastIndex;
      continue;
    }
    if (c === '_') {
      push({ kind: 'punct', value: '_', start: at, end: at + 1 });
      at += 1;
      continue;
    }
    const char = String.fromCodePoint(source.codePointAt(at)!);
    throw new SpannedError('Lex Error', `Unexpected character '${char}'.`, { start: at, end: at + char.length });
  }
  const open = frames[frames.length - 1]!;
  if (open.mode === 'string' && open.quote !== null) {
    throw new SpannedError('Lex Error', `Unterminated string: no closing ${open.quote}.`, { start: open.start, end: source.length });
  }
  push({ kind: 'eof', start: source.length, end: source.length });
  return tokens;
}

/** Reads inside a string from `at`: text up to the next "{{", or the closing quote. Returns where it stopped. */
function readString(source: string, at: number, frame: Frame & { mode: 'string' }, frames: Frame[], push: (token: Token) => void): number {
  if (frame.quote !== null && source[at] === frame.quote) {
    frames.pop();
    push({ kind: 'stringEnd', start: at, end: at + 1 });
    return at + 1;
  }
  if (source.startsWith('{{', at)) {
    frames.push({ mode: 'expr', braces: 0 });
    push({ kind: 'punct', value: '{{', start: at, end: at + 2 });
    return at + 2;
  }
  let text = '';
  let i = at;
  while (i < source.length && source[i] !== frame.quote && !source.startsWith('{{', i)) {
    if (source[i] === '\\' && frame.quote !== null) {
      const [value, length] = readEscape(source, i);
      text += value;
      i += length;
    } else {
      text += source[i];
      i += 1;
    }
  }
  push({ kind: 'text', value: text, start: at, end: i });
  return i;
}

/** A JSON escape in a quoted string; an escape JSON does not have is kept as written. */
function readEscape(source: string, at: number): [string, number] {
  const next = source[at + 1];
  if (next === undefined) return ['\\', 1];
  if (Object.hasOwn(ESCAPES, next)) return [ESCAPES[next]!, 2];
  if (next === 'u' && /^[0-9a-fA-F]{4}$/.test(source.slice(at + 2, at + 6))) {
    return [String.fromCharCode(parseInt(source.slice(at + 2, at + 6), 16)), 6];
  }
  return ['\\' + next, 2];
}
