import { SqlParams } from './sql-params';

describe('SqlParams', () => {
  it('numbers placeholders in the order values are added, with the cast when given', () => {
    const params = new SqlParams();
    expect(params.add('a')).toBe('$1');
    expect(params.add(2, 'integer')).toBe('$2::integer');
    expect(params.add(null, 'double precision')).toBe('$3::double precision');
    expect(params.add(['x'], 'text[]')).toBe('$4::text[]');
    expect(params.values).toEqual(['a', 2, null, ['x']]);
  });

  it('refuses a cast that is not a type name (the SQL text must not carry anything else)', () => {
    const params = new SqlParams();
    expect(() => params.add(1, 'int); DROP TABLE x; --')).toThrow(/not a type name/);
    expect(params.values).toEqual([]);
  });

  it('writes the tuples of a multi-row VALUES list after the placeholders already handed out', () => {
    const params = new SqlParams();
    params.add('before');
    const values = params.rows(
      [
        ['run', 'loss', 0.5],
        ['run', 'acc', 0.9],
      ],
      ['uuid', null, 'double precision'],
    );
    expect(values).toBe('($2::uuid, $3, $4::double precision), ($5::uuid, $6, $7::double precision)');
    expect(params.values).toEqual(['before', 'run', 'loss', 0.5, 'run', 'acc', 0.9]);
    expect(params.tuple([1, 2])).toBe('($8, $9)');
  });

  it('refuses more casts than values, and an empty VALUES list', () => {
    expect(() => new SqlParams().tuple([1], ['integer', 'text'])).toThrow(/2 casts for a row of 1/);
    expect(() => new SqlParams().rows([])).toThrow(/at least one row/);
  });

  it('binds named parameters once each, wherever they occur, after the values already added', () => {
    const params = new SqlParams();
    params.add('first');
    const sql = params.named(
      `SELECT $task::text, $edges::float8[] WHERE $task::text <> 'regression' AND x = $1 AND y = '$5'`,
      { edges: [1, 2], task: 'classification' },
    );
    expect(sql).toBe(`SELECT $2::text, $3::float8[] WHERE $2::text <> 'regression' AND x = $1 AND y = '$5'`);
    expect(params.values).toEqual(['first', 'classification', [1, 2]]);
  });

  it('refuses a name without a value, and a value the SQL never names', () => {
    expect(() => new SqlParams().named('SELECT $task, $labels', { task: 't' })).toThrow(
      'unbound SQL parameter $labels',
    );
    expect(() => new SqlParams().named('SELECT $task', { task: 't', seed: '1', edges: [] })).toThrow(
      'SQL parameters never used: $seed, $edges',
    );
    // A name is an own key: Object's members do not bind.
    expect(() => new SqlParams().named('SELECT $constructor', {})).toThrow(
      'unbound SQL parameter $constructor',
    );
  });
});
