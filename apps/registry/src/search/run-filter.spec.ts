import {
  compileFilter,
  compileOrderBy,
  FilterSyntaxError,
  parseFilter,
  parseOrderBy,
  tokenize,
} from './run-filter';

const syntaxError = (run: () => unknown): FilterSyntaxError => {
  try {
    run();
  } catch (error) {
    if (error instanceof FilterSyntaxError) return error;
    throw error;
  }
  throw new Error('expected a FilterSyntaxError');
};

describe('tokenize', () => {
  it('splits keys, operators, numbers, strings and keywords with their positions', () => {
    const tokens = tokenize(`metrics.accuracy >= 0.9 and params.lr = '0.01'`);
    expect(tokens.map((t) => [t.kind, t.value, t.position])).toEqual([
      ['identifier', 'metrics.accuracy', 0],
      ['operator', '>=', 17],
      ['number', 0.9, 20],
      ['and', 'AND', 24],
      ['identifier', 'params.lr', 28],
      ['operator', '=', 38],
      ['string', '0.01', 40],
      ['end', '', 46],
    ]);
  });

  it('reads quoted keys, doubled quotes, negative and exponent numbers', () => {
    const tokens = tokenize(`tags."my tag" != 'it''s' AND metrics.loss < -1.5e-3`);
    expect(tokens[0].value).toBe('tags.my tag');
    expect(tokens[2].value).toBe("it's");
    expect(tokens[6].value).toBe(-0.0015);
  });

  it('names the position of an unexpected character or an unterminated string', () => {
    expect(syntaxError(() => tokenize('metrics.a > 1 # x')).position).toBe(14);
    expect(syntaxError(() => tokenize("tags.a = 'open")).position).toBe(9);
  });
});

describe('parseFilter', () => {
  it('parses comparisons joined by AND, defaulting bare keys to run attributes', () => {
    expect(parseFilter(`metrics.f1 > 0.5 AND status = 'finished'`)).toEqual([
      { entity: { kind: 'metric', key: 'f1', position: 0 }, operator: '>', value: 0.5, valuePosition: 13 },
      {
        entity: { kind: 'attribute', key: 'status', position: 21 },
        operator: '=',
        value: 'finished',
        valuePosition: 30,
      },
    ]);
    expect(parseFilter('   ')).toEqual([]);
  });

  it.each([
    ['metrics.accuracy >', 18, /expected a number or a quoted string/],
    ['metrics.accuracy 0.9', 17, /expected a comparison operator/],
    ["metrics.accuracy > 0.9 params.lr = '1'", 23, /expected AND/],
    ["metrics.accuracy > 0.9 AND AND tags.a = 'x'", 27, /expected a key/],
    ['metrics.accuracy > 0.9 OR metrics.f1 > 1', 23, /expected AND/],
    ["metric.accuracy = 'high'", 18, /metrics compare with numbers/],
    ["foo.bar = 'x'", 0, /unknown key type 'foo'/],
    ["colour = 'x'", 0, /unknown run attribute 'colour'/],
    ['metrics.a LIKE 1', 10, /does not apply to metrics/],
    ["start_time > 'yesterday'", 13, /not a timestamp/],
  ])('rejects %s at character %d', (input, position, message) => {
    const error = syntaxError(() => parseFilter(input));
    expect(error.position).toBe(position);
    expect(error.message).toMatch(message);
    expect(error.message).toMatch(new RegExp(`at character ${position}$`));
  });
});

describe('compileFilter', () => {
  it('turns every key and value into a parameter, numbered after the caller’s', () => {
    const fragment = compileFilter(
      "metrics.accuracy > 0.9 AND params.learning_rate = '0.01' AND tags.reason = 'feedback'",
      2,
    );
    expect(fragment.params).toEqual(['accuracy', 0.9, 'learning_rate', '0.01', 'reason', 'feedback']);
    expect(fragment.sql).toContain('m.key = $3');
    expect(fragment.sql).toContain('> $4::double precision');
    expect(fragment.sql).toContain('(r.params ->> $5) = $6');
    expect(fragment.sql).toContain('(r.tags ->> $7) = $8');
    expect(fragment.sql.split(') AND (')).toHaveLength(3);
  });

  it('never writes user text into the SQL', () => {
    const hostile = `tags."x'); DROP TABLE registry.runs; --" = 'a''; DELETE FROM registry.runs; --'`;
    const fragment = compileFilter(hostile);
    expect(fragment.sql).not.toMatch(/DROP|DELETE/);
    expect(fragment.params).toEqual([
      "x'); DROP TABLE registry.runs; --",
      "a'; DELETE FROM registry.runs; --",
    ]);
  });

  it('compares params numerically when the value is a number, and times as timestamps', () => {
    const fragment = compileFilter("params.epochs >= 10 AND start_time > '2024-01-01T00:00:00Z'");
    expect(fragment.sql).toMatch(/CASE WHEN .* THEN .*::double precision END\) >= \$2::double precision/);
    expect(fragment.sql).toContain('r.start_time > $3::timestamptz');
    expect(fragment.params).toEqual(['epochs', 10, '2024-01-01T00:00:00.000Z']);
  });

  it('is TRUE without conditions', () => {
    expect(compileFilter('')).toEqual({ sql: 'TRUE', params: [] });
  });
});

describe('order by', () => {
  it('parses several terms with default ascending order', () => {
    expect(
      parseOrderBy('metrics.f1 DESC, start_time').map((t) => [t.entity.kind, t.entity.key, t.direction]),
    ).toEqual([
      ['metric', 'f1', 'DESC'],
      ['attribute', 'start_time', 'ASC'],
    ]);
  });

  it('compiles with NULLS LAST and parameterised keys', () => {
    const fragment = compileOrderBy('metrics.f1 desc', 4);
    expect(fragment.sql).toMatch(/m\.key = \$5 .* DESC NULLS LAST$/);
    expect(fragment.params).toEqual(['f1']);
  });

  it('rejects a trailing word with its position', () => {
    const error = syntaxError(() => parseOrderBy('metrics.f1 DESC sideways'));
    expect(error.position).toBe(16);
  });
});
