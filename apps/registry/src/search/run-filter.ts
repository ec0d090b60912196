/**
 * The run search language, in the spirit of MLflow's:
 *
 *   metrics.accuracy > 0.9 AND params.learning_rate = '0.01' AND tags.reason IN ('feedback', 'drift')
 *   order by: metrics.f1 DESC, attributes.start_time ASC
 *
 * A pure module: a tokenizer, a parser and a type checker. It knows nothing of SQL; the runs repository compiles the
 * checked conditions (`runs/run-filter.sql.ts`). What each key accepts:
 *
 *   key                  compared as  operators                       value
 *   metrics.<key>        number       = != < <= > >= IN, NOT IN       a number
 *   params.<key>         number       = != < <= > >= IN, NOT IN       a number (a non-numeric param: no match)
 *                        text         = != LIKE ILIKE IN, NOT IN      a quoted text
 *   tags.<key>           text         = != LIKE ILIKE IN, NOT IN      a quoted text
 *   run_name, name, run_id, dataset, dataset_version, backend, correlation_id (attributes.<name> or bare)
 *                        text         = != LIKE ILIKE IN, NOT IN      a quoted text
 *   status               text         = != IN, NOT IN                 a run status: 'scheduled', 'running', …
 *                                     LIKE ILIKE                      any quoted pattern
 *   start_time, end_time timestamp    = != < <= > >= IN, NOT IN       ISO 8601 text, or milliseconds since 1970
 *
 * Anything else is refused with a FilterTypeError naming the comparison, what is wrong and what to write instead.
 */
import { runStatus } from '@sepal/contracts';

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

export type EntityKind = 'metric' | 'param' | 'tag' | 'attribute';

/** How each run attribute compares: free text, a run status (text from a fixed set), or a point in time. */
export const RUN_ATTRIBUTES = {
  status: 'status',
  run_name: 'text',
  name: 'text',
  run_id: 'text',
  dataset: 'text',
  dataset_version: 'text',
  backend: 'text',
  correlation_id: 'text',
  start_time: 'timestamp',
  end_time: 'timestamp',
} as const;
export type RunAttribute = keyof typeof RUN_ATTRIBUTES;

const isRunAttribute = (key: string): key is RunAttribute => Object.hasOwn(RUN_ATTRIBUTES, key);

export type EntityRef =
  | { kind: 'metric' | 'param' | 'tag'; key: string; position: number }
  | { kind: 'attribute'; key: RunAttribute; position: number };

export type ComparisonOperator = '=' | '!=' | '<' | '<=' | '>' | '>=' | 'LIKE' | 'ILIKE' | 'IN' | 'NOT IN';

export type Literal = string | number;

/** One comparison as parsed, before type checking. */
export interface Comparison {
  entity: EntityRef;
  operator: ComparisonOperator;
  /** One value, or the list of an IN / NOT IN. */
  values: Literal[];
  /** Where the operator and the value (or the list's parenthesis) start, and where the comparison ends. */
  operatorPosition: number;
  valuePosition: number;
  end: number;
}

/** A type-checked comparison: how to compare, and values of that type (timestamps as ISO 8601 text). */
export type Condition =
  | { entity: EntityRef; operator: ComparisonOperator; compareAs: 'number'; values: number[] }
  | { entity: EntityRef; operator: ComparisonOperator; compareAs: 'text' | 'timestamp'; values: string[] };

export interface OrderTerm {
  entity: EntityRef;
  direction: 'ASC' | 'DESC';
}

const PREFIXES: Record<string, EntityKind> = {
  metric: 'metric',
  metrics: 'metric',
  param: 'param',
  params: 'param',
  parameter: 'param',
  parameters: 'param',
  tag: 'tag',
  tags: 'tag',
  attribute: 'attribute',
  attributes: 'attribute',
  attr: 'attribute',
  run: 'attribute',
};

function entityOf(token: Token, input: string): EntityRef {
  if (token.kind !== 'identifier') {
    throw new FilterSyntaxError(
      `expected a key such as metrics.accuracy, params.lr, tags.reason or status, got ${describe(token)}`,
      token.position,
      input,
    );
  }
  const text = String(token.value);
  const dot = text.indexOf('.');
  const prefix = dot < 0 ? '' : text.slice(0, dot).toLowerCase();
  const kind = dot < 0 ? 'attribute' : PREFIXES[prefix];
  const key = dot < 0 ? text : text.slice(dot + 1);
  if (!kind) {
    throw new FilterSyntaxError(
      `unknown key type '${text.slice(0, dot)}' (use metrics., params., tags. or attributes.)`,
      token.position,
      input,
    );
  }
  if (!key)
    throw new FilterSyntaxError(`missing key name after '${prefix}.'`, token.position + dot + 1, input);
  if (kind !== 'attribute') return { kind, key, position: token.position };
  if (!isRunAttribute(key)) {
    throw new FilterSyntaxError(
      `unknown run attribute '${key}' (known: ${Object.keys(RUN_ATTRIBUTES).join(', ')})`,
      token.position,
      input,
    );
  }
  return { kind, key, position: token.position };
}

function describe(token: Token): string {
  return token.kind === 'end' ? 'the end of the input' : `'${token.text}'`;
}

const OPERATOR_LIST = '=, !=, <, <=, >, >=, LIKE, ILIKE, IN, NOT IN';

/** Reads tokens left to right; each `expect…` throws a FilterSyntaxError naming what it wanted. */
class TokenReader {
  private i = 0;
  constructor(
    private readonly tokens: Token[],
    readonly input: string,
  ) {}

  peek(): Token {
    return this.tokens[this.i];
  }

  next(): Token {
    return this.tokens[this.i++];
  }

  /** The token `next()` returned last. */
  last(): Token {
    return this.tokens[this.i - 1];
  }

  fail(expected: string, token: Token): never {
    throw new FilterSyntaxError(`expected ${expected}, got ${describe(token)}`, token.position, this.input);
  }

  expect(kind: TokenKind, expected: string): Token {
    const token = this.next();
    if (token.kind !== kind) this.fail(expected, token);
    return token;
  }

  literal(): Token {
    const token = this.next();
    if (token.kind !== 'string' && token.kind !== 'number') this.fail('a number or a quoted string', token);
    return token;
  }
}

function parseOperator(reader: TokenReader): { operator: ComparisonOperator; position: number } {
  const token = reader.next();
  if (token.kind === 'not') {
    const inToken = reader.next();
    if (inToken.value !== 'IN') reader.fail('IN after NOT', inToken);
    return { operator: 'NOT IN', position: token.position };
  }
  if (token.kind !== 'operator') reader.fail(`a comparison operator (${OPERATOR_LIST})`, token);
  return { operator: token.value as ComparisonOperator, position: token.position };
}

/** `( literal (, literal)* )` after IN / NOT IN. */
function parseList(reader: TokenReader): Literal[] {
  reader.expect('open', "'(' to open the list of values, e.g. IN ('a', 'b')");
  const values = [reader.literal().value];
  for (;;) {
    const token = reader.next();
    if (token.kind === 'close') return values;
    if (token.kind !== 'comma') reader.fail("',' or ')' in the list of values", token);
    values.push(reader.literal().value);
  }
}

/** Parses `comparison (AND comparison)*` (syntax only: see checkFilter); an empty or blank filter is no condition. */
export function parseFilter(input: string): Comparison[] {
  const reader = new TokenReader(tokenize(input), input);
  const comparisons: Comparison[] = [];
  if (reader.peek().kind === 'end') return comparisons;
  for (;;) {
    const entity = entityOf(reader.next(), input);
    const { operator, position: operatorPosition } = parseOperator(reader);
    const valuePosition = reader.peek().position;
    const values = operator === 'IN' || operator === 'NOT IN' ? parseList(reader) : [reader.literal().value];
    const last = reader.last();
    comparisons.push({
      entity,
      operator,
      values,
      operatorPosition,
      valuePosition,
      end: last.position + last.text.length,
    });
    const next = reader.next();
    if (next.kind === 'end') return comparisons;
    if (next.kind !== 'and') reader.fail('AND or the end of the filter', next);
  }
}

/** Parses and type-checks a filter: the conditions the repository compiles, or a FilterError to show the user. */
export function checkFilter(input: string): Condition[] {
  return parseFilter(input).map((comparison) => checkComparison(comparison, input));
}

const ORDERING: readonly ComparisonOperator[] = ['<', '<=', '>', '>='];
const PATTERN: readonly ComparisonOperator[] = ['LIKE', 'ILIKE'];
const RUN_STATUSES: readonly string[] = runStatus.options;

/** One comparison under check: what it holds, and how to refuse it with a message naming key, operator and value. */
class ComparisonCheck {
  readonly key: string;
  readonly value: string;
  readonly numbers: number[];
  readonly texts: string[];
  readonly pattern: boolean;
  readonly ordering: boolean;

  constructor(
    readonly comparison: Comparison,
    private readonly input: string,
  ) {
    const { entity, operator, values, operatorPosition, valuePosition, end } = comparison;
    this.key = input.slice(entity.position, operatorPosition).trim();
    this.value = input.slice(valuePosition, end);
    this.numbers = values.filter((v): v is number => typeof v === 'number');
    this.texts = values.filter((v): v is string => typeof v === 'string');
    this.pattern = PATTERN.includes(operator);
    this.ordering = ORDERING.includes(operator);
    if (this.numbers.length && this.texts.length) this.fail('the list mixes numbers and quoted text');
    if (this.numbers.some((v) => !Number.isFinite(v))) this.fail(`${this.value} is not a finite number`);
    if (this.pattern && !this.texts.length)
      this.fail(`${operator} needs a quoted pattern, ${this.example("'abc%'")}`);
  }

  get operator(): ComparisonOperator {
    return this.comparison.operator;
  }

  /** `e.g. <key> <operator> <value>`, with the value in a list for IN / NOT IN. */
  example(value: string): string {
    const list = this.operator === 'IN' || this.operator === 'NOT IN';
    return `e.g. ${this.key} ${this.operator} ${list ? `(${value})` : value}`;
  }

  /** Refuses the comparison; the position is its value's unless `at` is 'operator'. */
  fail(reason: string, at: 'operator' | 'value' = 'value'): never {
    const { operatorPosition, valuePosition } = this.comparison;
    throw new FilterTypeError(
      `${this.key} ${this.operator} ${this.value}: ${reason}`,
      at === 'operator' ? operatorPosition : valuePosition,
      this.input,
      { key: this.key, operator: this.operator, value: this.value },
    );
  }

  asNumbers(): Condition {
    const { entity, operator } = this.comparison;
    return { entity, operator, compareAs: 'number', values: this.numbers };
  }

  /** `what` is text: a quoted value, and no ordering. */
  asText(what: string, exampleValue = `'${this.numbers[0]}'`): Condition {
    if (this.numbers.length) this.fail(`${what} is text: quote the value, ${this.example(exampleValue)}`);
    if (this.ordering) {
      this.fail(
        `${this.operator} does not apply to ${what}, which is text (use =, !=, LIKE, ILIKE, IN or NOT IN)`,
        'operator',
      );
    }
    const { entity, operator } = this.comparison;
    return { entity, operator, compareAs: 'text', values: this.texts };
  }

  /** `what` is a point in time: ISO 8601 text or milliseconds since 1970, no pattern. */
  asTimestamps(what: string): Condition {
    if (this.pattern) {
      this.fail(
        `${this.operator} does not apply to ${what}, a timestamp (use =, !=, <, <=, >, >=, IN or NOT IN)`,
        'operator',
      );
    }
    const values = this.comparison.values.map(
      (v) =>
        timestampOf(v) ??
        this.fail(
          `${this.comparison.values.length === 1 ? this.value : literalText(v)} is not a timestamp ` +
            `between the years 1 and 9999: use ISO 8601 text, ${this.example("'2024-01-01T00:00:00Z'")}, ` +
            'or milliseconds since 1970',
        ),
    );
    const { entity, operator } = this.comparison;
    return { entity, operator, compareAs: 'timestamp', values };
  }
}

/** The type rules of the table at the top of this file. */
function checkComparison(comparison: Comparison, input: string): Condition {
  const check = new ComparisonCheck(comparison, input);
  const { entity, operator } = comparison;
  switch (entity.kind) {
    case 'metric':
      if (check.pattern) check.fail(`${operator} does not apply to metrics, which are numbers`, 'operator');
      if (check.texts.length) {
        check.fail(`metrics compare with numbers: write the value unquoted, ${check.example('0.9')}`);
      }
      return check.asNumbers();
    case 'param':
      if (check.numbers.length) return check.asNumbers();
      if (check.ordering) {
        check.fail(
          `${operator} compares params as numbers: write the value unquoted, ${check.example('0.1')}`,
        );
      }
      return check.asText(`param '${entity.key}'`);
    case 'tag':
      return check.asText(`tag '${entity.key}'`);
    case 'attribute':
      switch (RUN_ATTRIBUTES[entity.key]) {
        case 'timestamp':
          return check.asTimestamps(entity.key);
        case 'text':
          return check.asText(`the run attribute ${entity.key}`);
        case 'status': {
          const condition = check.asText('the run status', "'finished'");
          const unknown = check.texts.find((v) => !RUN_STATUSES.includes(v));
          if (!check.pattern && unknown !== undefined) {
            check.fail(`${literalText(unknown)} is not a run status (one of ${RUN_STATUSES.join(', ')})`);
          }
          return condition;
        }
      }
  }
}

const literalText = (value: Literal): string => (typeof value === 'string' ? `'${value}'` : String(value));

/** Years 1 to 9999: what both JavaScript's ISO format and PostgreSQL's timestamptz read back. */
const FIRST_INSTANT = Date.parse('0001-01-01T00:00:00Z');
const LAST_INSTANT = Date.parse('9999-12-31T23:59:59.999Z');

/** An ISO 8601 instant from a date text or milliseconds since 1970; null if it is neither or out of range. */
function timestampOf(value: Literal): string | null {
  const ms = typeof value === 'number' ? value : Date.parse(value);
  return ms >= FIRST_INSTANT && ms <= LAST_INSTANT ? new Date(ms).toISOString() : null;
}

/** Parses `key [ASC|DESC] (, key [ASC|DESC])*`. */
export function parseOrderBy(input: string): OrderTerm[] {
  const reader = new TokenReader(tokenize(input), input);
  const terms: OrderTerm[] = [];
  if (reader.peek().kind === 'end') return terms;
  for (;;) {
    const entity = entityOf(reader.next(), input);
    let direction: 'ASC' | 'DESC' = 'ASC';
    if (reader.peek().kind === 'direction') direction = reader.next().value as 'ASC' | 'DESC';
    terms.push({ entity, direction });
    const next = reader.next();
    if (next.kind === 'end') return terms;
    if (next.kind !== 'comma') reader.fail("ASC, DESC, ',' or the end", next);
  }
}
