/**
 * SQL for the run search: compiles the type-checked conditions and order terms of `search/run-filter.ts` into
 * fragments over `registry.runs r`. Only RunsRepository uses it. Keys and values always travel as parameters; only the
 * fixed column names and casts below are written into the SQL.
 */
import { SqlParams } from '@sepal/persistence';
import { Condition, EntityRef, OrderTerm, RunAttribute } from '../search/run-filter';

const ATTRIBUTE_COLUMNS: Record<RunAttribute, string> = {
  status: 'r.status',
  run_name: 'r.name',
  name: 'r.name',
  run_id: 'r.id::text',
  dataset: 'r.dataset',
  dataset_version: 'r.dataset_version',
  backend: 'r.backend',
  correlation_id: 'r.correlation_id',
  start_time: 'r.start_time',
  end_time: 'r.end_time',
};

const CASTS: Record<Condition['compareAs'], string> = {
  number: 'double precision',
  text: 'text',
  timestamp: 'timestamptz',
};

const NUMERIC_TEXT = `'^[-+]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][-+]?[0-9]+)?$'`;

/** The value a key names for row `r`: a metric's latest value, a param or tag (text, or as a number), a column. */
function valueExpression(entity: EntityRef, params: SqlParams, numeric: boolean): string {
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
      return ATTRIBUTE_COLUMNS[entity.key];
  }
}

/** A boolean expression over `r` (conditions joined by AND; TRUE when there are none). */
export function filterSql(conditions: Condition[], params: SqlParams): string {
  if (!conditions.length) return 'TRUE';
  return conditions
    .map((c) => {
      const left = valueExpression(c.entity, params, c.compareAs === 'number');
      const values = (c.values as unknown[]).map((v) => params.add(v, CASTS[c.compareAs]));
      const right = c.operator === 'IN' || c.operator === 'NOT IN' ? `(${values.join(', ')})` : values[0];
      return `(${left} ${c.operator} ${right})`;
    })
    .join(' AND ');
}

/** An ORDER BY list (empty without terms); NULLs (e.g. a run without that metric) always sort last. */
export function orderBySql(terms: OrderTerm[], params: SqlParams): string {
  return terms.map((t) => `${valueExpression(t.entity, params, false)} ${t.direction} NULLS LAST`).join(', ');
}
