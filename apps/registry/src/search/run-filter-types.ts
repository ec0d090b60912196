/** What the run search language parses to: keys, comparisons, checked conditions and order-by terms. */

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
