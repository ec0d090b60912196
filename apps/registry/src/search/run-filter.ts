/**
 * The run search language, in the spirit of MLflow's:
 *
 *   metrics.accuracy > 0.9 AND params.learning_rate = '0.01' AND tags.reason = 'feedback'
 *   order by: metrics.f1 DESC, attributes.start_time ASC
 *
 * A pure module: a tokenizer, a parser and a compiler into a parameterised SQL fragment over `registry.runs r`
 * (values and keys always travel as parameters; only fixed column names are written into the SQL).
 */

export class FilterSyntaxError extends Error {
  constructor(
    readonly reason: string,
    /** 0-based character offset in the input where parsing broke. */
    readonly position: number,
    readonly input: string,
  ) {
    super(`${reason} at character ${position}`);
    this.name = 'FilterSyntaxError';
  }
}

export type TokenKind =
  'identifier' | 'string' | 'number' | 'operator' | 'and' | 'comma' | 'direction' | 'end';

export interface Token {
  kind: TokenKind;
  text: string;
  /** Literal value: the unquoted string, the number, or the upper-cased keyword/operator. */
  value: string | number;
  position: number;
}

const OPERATORS = ['!=', '<>', '<=', '>=', '=', '<', '>'];
const IDENT_START = /[A-Za-z_]/;
const IDENT_PART = /[A-Za-z0-9_.\-/:]/;
const NUMBER = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?/;

/** Splits a filter or order-by expression into tokens; an unknown character throws with its position. */
export function tokenize(input: string): Token[] {
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
    if (ch === ',') {
      tokens.push({ kind: 'comma', text: ',', value: ',', position: start });
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
      if (upper === 'AND') tokens.push({ kind: 'and', text, value: 'AND', position: start });
      else if (upper === 'ASC' || upper === 'DESC')
        tokens.push({ kind: 'direction', text, value: upper, position: start });
      else if (upper === 'LIKE' || upper === 'ILIKE')
        tokens.push({ kind: 'operator', text, value: upper, position: start });
      else tokens.push({ kind: 'identifier', text, value: text, position: start });
      continue;
    }
    throw new FilterSyntaxError(`unexpected character '${ch}'`, start, input);
  }
  tokens.push({ kind: 'end', text: '', value: '', position: input.length });
  return tokens;
}

export type EntityKind = 'metric' | 'param' | 'tag' | 'attribute';

export const RUN_ATTRIBUTES = {
  status: { column: 'r.status', type: 'text' },
  run_name: { column: 'r.name', type: 'text' },
  name: { column: 'r.name', type: 'text' },
  run_id: { column: 'r.id::text', type: 'text' },
  dataset: { column: 'r.dataset', type: 'text' },
  dataset_version: { column: 'r.dataset_version', type: 'text' },
  backend: { column: 'r.backend', type: 'text' },
  correlation_id: { column: 'r.correlation_id', type: 'text' },
  start_time: { column: 'r.start_time', type: 'time' },
  end_time: { column: 'r.end_time', type: 'time' },
} as const;
type AttributeName = keyof typeof RUN_ATTRIBUTES;

export interface EntityRef {
  kind: EntityKind;
  key: string;
  position: number;
}

export interface Comparison {
  entity: EntityRef;
  operator: string;
  value: string | number;
  valuePosition: number;
}

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
  if (kind === 'attribute' && !(key in RUN_ATTRIBUTES)) {
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

/** Parses `comparison (AND comparison)*`; an empty or blank filter is no condition. */
export function parseFilter(input: string): Comparison[] {
  const tokens = tokenize(input);
  const comparisons: Comparison[] = [];
  let i = 0;
  if (tokens[0].kind === 'end') return comparisons;
  for (;;) {
    const entity = entityOf(tokens[i++], input);
    const operator = tokens[i++];
    if (operator.kind !== 'operator') {
      throw new FilterSyntaxError(
        `expected a comparison operator (=, !=, <, <=, >, >=, LIKE, ILIKE), got ${describe(operator)}`,
        operator.position,
        input,
      );
    }
    const value = tokens[i++];
    if (value.kind !== 'string' && value.kind !== 'number') {
      throw new FilterSyntaxError(
        `expected a number or a quoted string, got ${describe(value)}`,
        value.position,
        input,
      );
    }
    comparisons.push(
      checkComparison(
        { entity, operator: String(operator.value), value: value.value, valuePosition: value.position },
        operator,
        input,
      ),
    );
    const next = tokens[i++];
    if (next.kind === 'end') return comparisons;
    if (next.kind !== 'and')
      throw new FilterSyntaxError(
        `expected AND or the end of the filter, got ${describe(next)}`,
        next.position,
        input,
      );
  }
}

function checkComparison(comparison: Comparison, operatorToken: Token, input: string): Comparison {
  const { entity, operator, value } = comparison;
  const like = operator === 'LIKE' || operator === 'ILIKE';
  if (entity.kind === 'metric') {
    if (typeof value !== 'number') {
      throw new FilterSyntaxError(
        `metrics compare with numbers, got the string '${value}'`,
        comparison.valuePosition,
        input,
      );
    }
    if (like)
      throw new FilterSyntaxError(`${operator} does not apply to metrics`, operatorToken.position, input);
  }
  if (like && typeof value !== 'string') {
    throw new FilterSyntaxError(`${operator} needs a quoted pattern`, comparison.valuePosition, input);
  }
  if (entity.kind === 'attribute' && RUN_ATTRIBUTES[entity.key as AttributeName].type === 'time') {
    if (like)
      throw new FilterSyntaxError(
        `${operator} does not apply to ${entity.key}`,
        operatorToken.position,
        input,
      );
    if (typeof value === 'string' && Number.isNaN(Date.parse(value))) {
      throw new FilterSyntaxError(`'${value}' is not a timestamp`, comparison.valuePosition, input);
    }
  }
  return comparison;
}

/** Parses `key [ASC|DESC] (, key [ASC|DESC])*`. */
export function parseOrderBy(input: string): OrderTerm[] {
  const tokens = tokenize(input);
  const terms: OrderTerm[] = [];
  let i = 0;
  if (tokens[0].kind === 'end') return terms;
  for (;;) {
    const entity = entityOf(tokens[i++], input);
    let direction: 'ASC' | 'DESC' = 'ASC';
    if (tokens[i].kind === 'direction') direction = tokens[i++].value as 'ASC' | 'DESC';
    terms.push({ entity, direction });
    const next = tokens[i++];
    if (next.kind === 'end') return terms;
    if (next.kind !== 'comma')
      throw new FilterSyntaxError(
        `expected ASC, DESC, ',' or the end, got ${describe(next)}`,
        next.position,
        input,
      );
  }
}

export interface SqlFragment {
  /** Conditions joined by AND ('TRUE' when there are none), or the ORDER BY list. */
  sql: string;
  params: unknown[];
}

/** Builds parameter placeholders numbered after those the caller already uses. */
class Params {
  readonly values: unknown[] = [];
  constructor(private readonly offset: number) {}

  add(value: unknown): string {
    this.values.push(value);
    return `$${this.offset + this.values.length}`;
  }
}

const NUMERIC_TEXT = `'^[-+]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][-+]?[0-9]+)?$'`;

function valueExpression(entity: EntityRef, params: Params, numeric: boolean): string {
  switch (entity.kind) {
    case 'metric':
      return `(SELECT m.value FROM registry.metrics m WHERE m.run_id = r.id AND m.key = ${params.add(entity.key)} ORDER BY m.step DESC, m.timestamp DESC, m.id DESC LIMIT 1)`;
    case 'param':
    case 'tag': {
      const column = entity.kind === 'param' ? 'r.params' : 'r.tags';
      const text = `(${column} ->> ${params.add(entity.key)})`;
      return numeric ? `(CASE WHEN ${text} ~ ${NUMERIC_TEXT} THEN ${text}::double precision END)` : text;
    }
    case 'attribute':
      return RUN_ATTRIBUTES[entity.key as AttributeName].column;
  }
}

/** Compiles a filter into `sql` (a boolean expression over `r`, a row of registry.runs) and its parameters. */
export function compileFilter(input: string, paramOffset = 0): SqlFragment {
  const params = new Params(paramOffset);
  const conditions = parseFilter(input).map((c) => {
    const isTime =
      c.entity.kind === 'attribute' && RUN_ATTRIBUTES[c.entity.key as AttributeName].type === 'time';
    const numeric = typeof c.value === 'number' && !isTime;
    const left = valueExpression(c.entity, params, numeric);
    if (isTime) {
      return `${left} ${c.operator} ${params.add(new Date(c.value).toISOString())}::timestamptz`;
    }
    if (c.operator === 'LIKE' || c.operator === 'ILIKE')
      return `${left} ${c.operator} ${params.add(c.value)}`;
    if (numeric) return `${left} ${c.operator} ${params.add(c.value)}::double precision`;
    return `${left} ${c.operator} ${params.add(String(c.value))}`;
  });
  return {
    sql: conditions.length ? conditions.map((c) => `(${c})`).join(' AND ') : 'TRUE',
    params: params.values,
  };
}

/** Compiles an order-by list; NULLs (e.g. a run without that metric) always sort last. */
export function compileOrderBy(input: string, paramOffset = 0): SqlFragment {
  const params = new Params(paramOffset);
  const terms = parseOrderBy(input).map((t) => {
    return `${valueExpression(t.entity, params, false)} ${t.direction} NULLS LAST`;
  });
  return { sql: terms.join(', '), params: params.values };
}
