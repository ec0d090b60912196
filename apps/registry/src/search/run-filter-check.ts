/** The type rules of the run search language (the table at the top of `run-filter.ts`). */
import { runStatus } from '@sepal/contracts';
import { FilterTypeError } from './run-filter-lexer';
import { Comparison, ComparisonOperator, Condition, Literal, RUN_ATTRIBUTES } from './run-filter-types';

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

/** The type rules of the table at the top of `run-filter.ts`. */
export function checkComparison(comparison: Comparison, input: string): Condition {
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
