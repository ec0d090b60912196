/** The run search language's words: the errors it reports and the tokenizer (the grammar is in `run-filter.ts`). */
/** A filter or order-by the user must fix: `reason` says what and `position` where (0-based, in `input`). */
export abstract class FilterError extends Error {
  constructor(
    readonly reason: string,
    readonly position: number,
    readonly input: string,
  ) {
    super(`${reason} at character ${position}`);
    this.name = new.target.name;
  }
}

/** The text does not parse. */
export class FilterSyntaxError extends FilterError {}

/** The text parses, but a comparison is ill-typed (e.g. a text attribute compared with a number). */
export class FilterTypeError extends FilterError {
  constructor(
    reason: string,
    position: number,
    input: string,
    /** The comparison at fault, as written: its key, its operator and its value (or list of values). */
    readonly comparison: { key: string; operator: string; value: string },
  ) {
    super(reason, position, input);
  }
}

export type TokenKind =
  | 'identifier'
  | 'string'
  | 'number'
  | 'operator'
  | 'not'
  | 'and'
  | 'comma'
  | 'open'
  | 'close'
  | 'direction'
  | 'end';

export interface Token {
  kind: TokenKind;
  text: string;
  /** Literal value: the unquoted string, the number, or the upper-cased keyword/operator. */
  value: string | number;
  position: number;
}

const OPERATORS = ['!=', '<>', '<=', '>=', '=', '<', '>'];
const PUNCTUATION: Record<string, TokenKind> = { ',': 'comma', '(': 'open', ')': 'close' };
const KEYWORDS: Record<string, TokenKind> = {
  AND: 'and',
  NOT: 'not',
  ASC: 'direction',
  DESC: 'direction',
  LIKE: 'operator',
  ILIKE: 'operator',
  IN: 'operator',
};
const IDENT_START = /[A-Za-z_]/;
const IDENT_PART = /[A-Za-z0-9_.\-/:]/;
const NUMBER = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?/;

/** Splits a filter or order-by expression into tokens; an unknown character throws with its position. */
export function tokenize(input: string): Token[] {
  const nul = input.indexOf('\0');
  if (nul >= 0) throw new FilterSyntaxError('the NUL character is not allowed', nul, input);
  const tokens: Token[] = [];
  let i = 0;
  while (i < input.length) {
    const ch = input[i];
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    const start = i;
    if (ch === "'" || ch === '"' || ch === '`') {
      let value = '';
      i++;
      for (;;) {
        if (i >= input.length) throw new FilterSyntaxError(`unterminated ${ch}-quoted text`, start, input);
        if (input[i] === ch) {
          if (input[i + 1] === ch) {
            value += ch;
            i += 2;
            continue;
          }
          i++;
          break;
        }
        value += input[i++];
      }
      tokens.push({
        kind: ch === '`' ? 'identifier' : 'string',
        text: input.slice(start, i),
        value,
        position: start,
      });
      continue;
    }
    if (PUNCTUATION[ch]) {
      tokens.push({ kind: PUNCTUATION[ch], text: ch, value: ch, position: start });
      i++;
      continue;
    }
    const operator = OPERATORS.find((op) => input.startsWith(op, i));
    if (operator) {
      tokens.push({
        kind: 'operator',
        text: operator,
        value: operator === '<>' ? '!=' : operator,
        position: start,
      });
      i += operator.length;
      continue;
    }
    const number = /[-+\d.]/.test(ch) ? NUMBER.exec(input.slice(i)) : null;
    if (number) {
      i += number[0].length;
      tokens.push({ kind: 'number', text: number[0], value: Number(number[0]), position: start });
      continue;
    }
    if (IDENT_START.test(ch)) {
      while (i < input.length && IDENT_PART.test(input[i])) i++;
      // A quoted key after a prefix: metrics."my metric" or tags.`a b`
      if (input[i - 1] === '.' && i < input.length && ['"', '`'].includes(input[i])) {
        const quote = input[i];
        const end = input.indexOf(quote, i + 1);
        if (end < 0) throw new FilterSyntaxError(`unterminated ${quote}-quoted key`, i, input);
        const text = input.slice(start, end + 1);
        tokens.push({
          kind: 'identifier',
          text,
          value: input.slice(start, i) + input.slice(i + 1, end),
          position: start,
        });
        i = end + 1;
        continue;
      }
      const text = input.slice(start, i);
      const upper = text.toUpperCase();
      const keyword = KEYWORDS[upper];
      tokens.push(
        keyword
          ? { kind: keyword, text, value: upper, position: start }
          : { kind: 'identifier', text, value: text, position: start },
      );
      continue;
    }
    throw new FilterSyntaxError(`unexpected character '${ch}'`, start, input);
  }
  tokens.push({ kind: 'end', text: '', value: '', position: input.length });
  return tokens;
}
