import { SqlParams } from '@sepal/persistence';
import { checkFilter, parseOrderBy } from '../search/run-filter';
import { filterSql, orderBySql } from './run-filter.sql';

/** Compiles after two parameters the caller already uses, as the repository does. */
function compile(filter: string, orderBy = '') {
  const params = new SqlParams();
  params.add('experiment');
  params.add('parent');
  const where = filterSql(checkFilter(filter), params);
  const order = orderBySql(parseOrderBy(orderBy), params);
  return { where, order, params: params.values.slice(2) };
}

describe('filterSql', () => {
  it('turns every key and value into a parameter, numbered after the caller’s', () => {
    const { where, params } = compile(
      "metrics.accuracy > 0.9 AND params.learning_rate = '0.01' AND tags.reason = 'feedback'",
    );
    expect(params).toEqual(['accuracy', 0.9, 'learning_rate', '0.01', 'reason', 'feedback']);
    expect(where).toContain('m.key = $3');
    expect(where).toContain('> $4::double precision');
    expect(where).toContain('(r.params ->> $5) = $6::text');
    expect(where).toContain('(r.tags ->> $7) = $8::text');
    expect(where.split(') AND (')).toHaveLength(3);
  });

  it('never writes user text into the SQL', () => {
    const hostile = `tags."x'); DROP TABLE registry.runs; --" = 'a''; DELETE FROM registry.runs; --'`;
    const { where, params } = compile(hostile);
    expect(where).not.toMatch(/DROP|DELETE/);
    expect(params).toEqual(["x'); DROP TABLE registry.runs; --", "a'; DELETE FROM registry.runs; --"]);
  });

  it('casts each value to the type the checker chose: numbers, text, timestamps', () => {
    const { where, params } = compile(
      "params.epochs >= 10 AND start_time > '2024-01-01T00:00:00Z' AND status IN ('finished', 'failed')",
    );
    expect(where).toMatch(/CASE WHEN .* THEN .*::double precision END\) >= \$4::double precision/);
    expect(where).toContain('r.start_time > $5::timestamptz');
    expect(where).toContain('r.status IN ($6::text, $7::text)');
    expect(params).toEqual(['epochs', 10, '2024-01-01T00:00:00.000Z', 'finished', 'failed']);
  });

  it('is TRUE without conditions', () => {
    expect(compile('')).toEqual({ where: 'TRUE', order: '', params: [] });
  });
});

describe('orderBySql', () => {
  it('orders with NULLS LAST and parameterised keys', () => {
    const { order, params } = compile('', 'metrics.f1 desc, start_time');
    expect(order).toMatch(/m\.key = \$3 .* DESC NULLS LAST, r\.start_time ASC NULLS LAST$/);
    expect(params).toEqual(['f1']);
  });
});
