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
import { checkComparison } from './run-filter-check';
import { FilterSyntaxError, Token, TokenKind, tokenize } from './run-filter-lexer';
import {
  Comparison,
  ComparisonOperator,
  Condition,
  EntityKind,
  EntityRef,
  Literal,
  OrderTerm,
  RUN_ATTRIBUTES,
  RunAttribute,
} from './run-filter-types';

export * from './run-filter-lexer';
export * from './run-filter-types';

const isRunAttribute = (key: string): key is RunAttribute => Object.hasOwn(RUN_ATTRIBUTES, key);

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
