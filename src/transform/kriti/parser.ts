/**
 * Kriti's parser: recursive descent over the tokens, with Kriti's precedence (loosest first): `in`,
 * `||`, `&&`, `??`, then the comparisons (which do not chain), function application, and path lookups.
 * The binary operators group to the right, as in Kriti's grammar.
 *
 * `{{ }}` in code is grouping; `{{ if }}`/`{{ elif }}`/`{{ else }}`/`{{ end }}` and
 * `{{ range i, x := xs }} ... {{ end }}` are expressions. A function is called as `f(x)` or `f x`; a
 * call to a function that does not exist is refused here, where Hasura fails every run instead.
 */
import type { BinaryOp, Expr, Step } from './ast.js';
import { SpannedError, type Span } from './errors.js';
import { tokenize, type Punct, type Token, type TokenizeMode } from './tokenizer.js';
import { numberFromText } from './values.js';

const KEYWORDS = new Set(['if', 'elif', 'else', 'end', 'range', 'in', 'true', 'false', 'null']);
const COMPARISONS = new Set<string>(['==', '!=', '>', '<', '>=', '<=']);

export function parse(source: string, mode: TokenizeMode, functions: ReadonlySet<string>): Expr {
  return new Parser(tokenize(source, mode), functions).parseRoot(mode);
}

class Parser {
  private at = 0;

  constructor(
    private readonly tokens: Token[],
    private readonly functions: ReadonlySet<string>,
  ) {}

  parseRoot(mode: TokenizeMode): Expr {
    const expr = mode === 'template' ? this.parseExpr() : this.parseStringParts(undefined);
    const next = this.peek();
    if (next.kind !== 'eof') throw this.unexpected(next);
    return expr;
  }

  private peek(offset = 0): Token {
    return this.tokens[Math.min(this.at + offset, this.tokens.length - 1)]!;
  }

  private next(): Token {
    const token = this.peek();
    if (token.kind !== 'eof') this.at += 1;
    return token;
  }

  private isPunct(token: Token, value: Punct): boolean {
    return token.kind === 'punct' && token.value === value;
  }

  private isKeyword(token: Token, word: string): boolean {
    return token.kind === 'ident' && token.value === word;
  }

  private expectPunct(value: Punct, what = `'${value}'`): Token {
    const token = this.next();
    if (!this.isPunct(token, value)) throw this.unexpected(token, `expected ${what}`);
    return token;
  }

  private expectKeyword(word: string): Token {
    const token = this.next();
    if (!this.isKeyword(token, word)) throw this.unexpected(token, `expected '${word}'`);
    return token;
  }

  private unexpected(token: Token, expected?: string): SpannedError {
    const hint = expected ? ` (${expected})` : '';
    if (token.kind === 'eof') return new SpannedError('Parse Error', `Unexpected end of input${hint}.`, token);
    return new SpannedError('Parse Error', `Unexpected token '${describe(token)}'${hint}.`, token);
  }

  parseExpr(): Expr {
    return this.parseRightAssoc('in', () => this.parseOr());
  }

  private parseOr(): Expr {
    return this.parseRightAssoc('||', () => this.parseAnd());
  }

  private parseAnd(): Expr {
    return this.parseRightAssoc('&&', () => this.parseDefault());
  }

  private parseDefault(): Expr {
    return this.parseRightAssoc('??', () => this.parseComparison());
  }

  private parseRightAssoc(op: BinaryOp, operand: () => Expr): Expr {
    const left = operand();
    const token = this.peek();
    const matches = op === 'in' ? this.isKeyword(token, 'in') : token.kind === 'punct' && token.value === op;
    if (!matches) return left;
    this.next();
    const right = this.parseRightAssoc(op, operand);
    return { kind: 'binary', op, left, right, span: join(left.span, right.span) };
  }

  private parseComparison(): Expr {
    const left = this.parseApplication();
    const token = this.peek();
    if (token.kind !== 'punct' || !COMPARISONS.has(token.value)) return left;
    this.next();
    const right = this.parseApplication();
    const after = this.peek();
    if (after.kind === 'punct' && COMPARISONS.has(after.value)) {
      throw new SpannedError('Parse Error', `Comparisons do not chain: add parentheses before '${after.value}'.`, after);
    }
    return { kind: 'binary', op: token.value as BinaryOp, left, right, span: join(left.span, right.span) };
  }

  /**
   * `f(x)` (then path lookups on the result), or `f x` where x is itself an application. A name that is
   * no function, followed by what can only be an argument ("x", 1, $y, another name), is a call to a
   * function that does not exist.
   */
  private parseApplication(): Expr {
    const token = this.peek();
    if (token.kind !== 'ident' || token.value.startsWith('$') || KEYWORDS.has(token.value)) return this.parseSteps(this.parsePrimary());
    const following = this.peek(1);
    const known = this.functions.has(token.value);
    const parenthesised = this.isPunct(following, '(');
    const juxtaposed = known ? this.startsArgument(following, this.peek(2)) : startsPlainArgument(following);
    if (!parenthesised && !juxtaposed) return this.parseSteps(this.parsePrimary());
    if (!known) throw new SpannedError('Function Error', `Function ${token.value} is not defined.`, token);
    this.next();
    if (parenthesised) {
      this.next();
      const arg = this.parseExpr();
      const close = this.expectPunct(')');
      return this.parseSteps({ kind: 'call', name: token.value, arg, nameSpan: token, span: join(token, close) });
    }
    const arg = this.parseApplication();
    return { kind: 'call', name: token.value, arg, nameSpan: token, span: join(token, arg.span) };
  }

  /**
   * Whether a token can begin the argument of a function in `f x`: also "[", "{" and "{{" (as in
   * `concat {{ range ... }} ... {{ end }}`), but not the "{{" of "{{ end }}", "{{ else }}" or "{{ elif }}"
   * (a loop variable may be named like a function and end the body of a block).
   */
  private startsArgument(token: Token, after: Token): boolean {
    if (startsPlainArgument(token)) return true;
    if (this.isPunct(token, '{{')) return !(after.kind === 'ident' && ['end', 'else', 'elif'].includes(after.value));
    return this.isPunct(token, '[') || this.isPunct(token, '{');
  }

  private parseSteps(base: Expr): Expr {
    const steps: Step[] = [];
    for (;;) {
      const token = this.peek();
      if (this.isPunct(token, '.') || this.isPunct(token, '?.')) {
        this.next();
        const optional = token.kind === 'punct' && token.value === '?.';
        if (optional && this.isPunct(this.peek(), '[')) {
          this.next();
          steps.push(this.parseBracket(token, true));
          continue;
        }
        const name = this.next();
        if (name.kind !== 'ident') throw this.unexpected(name, 'expected a field name');
        steps.push({ key: name.value, optional, span: join(token, name) });
      } else if (this.isPunct(token, '[') || this.isPunct(token, '?[')) {
        this.next();
        steps.push(this.parseBracket(token, token.kind === 'punct' && token.value === '?['));
      } else {
        break;
      }
    }
    if (steps.length === 0) return base;
    return { kind: 'path', base, steps, span: join(base.span, steps[steps.length - 1]!.span) };
  }

  private parseBracket(open: Span, optional: boolean): Step {
    const key = this.parseExpr();
    const close = this.expectPunct(']');
    return { key, optional, span: join(open, close) };
  }

  private parsePrimary(): Expr {
    const token = this.next();
    switch (token.kind) {
      case 'number':
        return { kind: 'literal', value: numberFromText(token.text), span: token };
      case 'stringStart':
        return this.parseStringParts(token);
      case 'ident':
        if (token.value === 'true' || token.value === 'false') return { kind: 'literal', value: token.value === 'true', span: token };
        if (token.value === 'null') return { kind: 'literal', value: null, span: token };
        if (KEYWORDS.has(token.value)) throw this.unexpected(token);
        return { kind: 'variable', name: token.value, span: token };
      case 'punct':
        return this.parseBracketed(token);
      default:
        throw this.unexpected(token);
    }
  }

  private parseBracketed(token: Token & { kind: 'punct' }): Expr {
    switch (token.value) {
      case '(': {
        const inner = this.parseExpr();
        this.expectPunct(')');
        return inner;
      }
      case '[':
        return this.parseArray(token);
      case '{':
        return this.parseObject(token);
      case '{{':
        return this.parseBlock(token);
      default:
        throw this.unexpected(token);
    }
  }

  private parseArray(open: Token): Expr {
    const items: Expr[] = [];
    if (!this.isPunct(this.peek(), ']')) {
      do items.push(this.parseExpr());
      while (this.isPunct(this.peek(), ',') && this.next());
    }
    const close = this.expectPunct(']', "',' or ']'");
    return { kind: 'array', items, span: join(open, close) };
  }

  private parseObject(open: Token): Expr {
    const entries: Array<{ key: Expr; value: Expr }> = [];
    if (!this.isPunct(this.peek(), '}')) {
      do {
        const keyToken = this.next();
        if (keyToken.kind !== 'stringStart') throw this.unexpected(keyToken, 'expected a string key');
        const key = this.parseStringParts(keyToken);
        this.expectPunct(':');
        entries.push({ key, value: this.parseExpr() });
      } while (this.isPunct(this.peek(), ',') && this.next());
    }
    const close = this.expectPunct('}', "',' or '}'");
    return { kind: 'object', entries, span: join(open, close) };
  }

  /** After "{{": an if or range block, or an expression in braces. */
  private parseBlock(open: Token): Expr {
    const first = this.peek();
    if (this.isKeyword(first, 'if')) return this.parseIf(open);
    if (this.isKeyword(first, 'range')) return this.parseRange(open);
    const inner = this.parseExpr();
    this.expectPunct('}}');
    return inner;
  }

  private parseIf(open: Token): Expr {
    this.next();
    const branches: Array<{ condition: Expr; then: Expr }> = [];
    let condition = this.parseExpr();
    for (;;) {
      this.expectPunct('}}');
      branches.push({ condition, then: this.parseExpr() });
      this.expectPunct('{{', "'{{ elif }}', '{{ else }}'");
      const word = this.next();
      if (this.isKeyword(word, 'elif')) {
        condition = this.parseExpr();
        continue;
      }
      if (!this.isKeyword(word, 'else')) throw this.unexpected(word, "expected 'elif' or 'else': an if needs an else branch");
      this.expectPunct('}}');
      const otherwise = this.parseExpr();
      const close = this.closeBlock();
      return { kind: 'if', branches, otherwise, span: join(open, close) };
    }
  }

  private parseRange(open: Token): Expr {
    this.next();
    const index = this.next();
    if (!(this.isPunct(index, '_') || (index.kind === 'ident' && !KEYWORDS.has(index.value)))) {
      throw this.unexpected(index, "expected an index name or '_'");
    }
    this.expectPunct(',');
    const item = this.next();
    if (item.kind !== 'ident' || KEYWORDS.has(item.value)) throw this.unexpected(item, 'expected an element name');
    this.expectPunct(':=');
    const source = this.parseExpr();
    this.expectPunct('}}');
    const body = this.parseExpr();
    const close = this.closeBlock();
    return {
      kind: 'range',
      index: index.kind === 'ident' ? index.value : undefined,
      item: item.value,
      source,
      body,
      span: join(open, close),
    };
  }

  /** "{{ end }}" */
  private closeBlock(): Token {
    this.expectPunct('{{', "'{{ end }}'");
    this.expectKeyword('end');
    return this.expectPunct('}}');
  }

  /** Text and "{{ expression }}" parts, after an opening quote up to the closing one; or, for a string template, to the end. */
  private parseStringParts(open: Token | undefined): Expr {
    const parts: Array<string | Expr> = [];
    const start = open?.start ?? 0;
    for (;;) {
      const token = this.peek();
      if (token.kind === 'stringEnd' || token.kind === 'eof') {
        if (open && token.kind === 'eof') throw this.unexpected(token, 'expected the closing quote');
        if (open) this.next();
        return { kind: 'string', parts, span: { start, end: token.end } };
      }
      this.next();
      if (token.kind === 'text') {
        parts.push(token.value);
      } else if (this.isPunct(token, '{{')) {
        const first = this.peek();
        if (this.isKeyword(first, 'if') || this.isKeyword(first, 'range')) {
          throw new SpannedError(
            'Parse Error',
            `'{{ ${first.kind === 'ident' ? first.value : ''} }}' cannot be used inside a string: build the string outside it, e.g. with concat.`,
            first,
          );
        }
        parts.push(this.parseExpr());
        this.expectPunct('}}');
      } else {
        throw this.unexpected(token);
      }
    }
  }
}

/** Tokens that can only begin an operand: a literal, a string, a name. */
function startsPlainArgument(token: Token): boolean {
  if (token.kind === 'number' || token.kind === 'stringStart') return true;
  return token.kind === 'ident' && !['if', 'elif', 'else', 'end', 'range', 'in'].includes(token.value);
}

function join(a: Span, b: Span): Span {
  return { start: Math.min(a.start, b.start), end: Math.max(a.end, b.end) };
}

function describe(token: Token): string {
  switch (token.kind) {
    case 'punct':
    case 'ident':
      return token.value;
    case 'number':
      return token.text;
    case 'stringStart':
      return token.quote;
    case 'stringEnd':
      return '"';
    case 'text':
      return token.value;
    case 'eof':
      return '';
  }
}
