import {
  checkFilter,
  FilterError,
  FilterSyntaxError,
  FilterTypeError,
  parseFilter,
  parseOrderBy,
  tokenize,
} from './run-filter';

function thrown<E extends FilterError>(type: new (...args: never[]) => E, run: () => unknown): E {
  try {
    run();
  } catch (error) {
    if (error instanceof type) return error;
    throw error;
  }
  throw new Error(`expected a ${type.name}`);
}
const syntaxError = (run: () => unknown) => thrown(FilterSyntaxError, run);
const typeError = (filter: string) => thrown(FilterTypeError, () => checkFilter(filter));

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
      {
        entity: { kind: 'metric', key: 'f1', position: 0 },
        operator: '>',
        values: [0.5],
        operatorPosition: 11,
        valuePosition: 13,
        end: 16,
      },
      {
        entity: { kind: 'attribute', key: 'status', position: 21 },
        operator: '=',
        values: ['finished'],
        operatorPosition: 28,
        valuePosition: 30,
        end: 40,
      },
    ]);
    expect(parseFilter('   ')).toEqual([]);
  });

  it('parses IN and NOT IN lists', () => {
    const [tags, epochs] = parseFilter(`tags.reason IN ('a', 'b') and params.epochs not in (10,20)`);
    expect([tags.operator, tags.values, tags.valuePosition, tags.end]).toEqual(['IN', ['a', 'b'], 15, 25]);
    expect([epochs.operator, epochs.values]).toEqual(['NOT IN', [10, 20]]);
  });

  it.each([
    ['metrics.accuracy >', 18, /expected a number or a quoted string/],
    ['metrics.accuracy 0.9', 17, /expected a comparison operator/],
    ["metrics.accuracy > 0.9 params.lr = '1'", 23, /expected AND/],
    ["metrics.accuracy > 0.9 AND AND tags.a = 'x'", 27, /expected a key/],
    ['metrics.accuracy > 0.9 OR metrics.f1 > 1', 23, /expected AND/],
    ["foo.bar = 'x'", 0, /unknown key type 'foo'/],
    ["colour = 'x'", 0, /unknown run attribute 'colour'/],
    ["status NOT LIKE 'x'", 11, /expected IN after NOT/],
    ["status IN 'finished'", 10, /expected '\(' to open the list/],
    ["status IN ('finished' 'failed')", 22, /expected ',' or '\)'/],
    ['status IN ()', 11, /expected a number or a quoted string/],
    ["tags.a = 'x\0'", 11, /NUL character/],
  ])('rejects %s at character %d', (input, position, message) => {
    const error = syntaxError(() => parseFilter(input));
    expect(error.position).toBe(position);
    expect(error.message).toMatch(message);
    expect(error.message).toMatch(new RegExp(`at character ${position}$`));
  });
});

describe('checkFilter', () => {
  it('compares metrics as numbers', () => {
    expect(checkFilter('metrics.accuracy >= 0.9 AND metrics.loss IN (1, 2)')).toEqual([
      expect.objectContaining({ operator: '>=', compareAs: 'number', values: [0.9] }),
      expect.objectContaining({ operator: 'IN', compareAs: 'number', values: [1, 2] }),
    ]);
  });

  it('compares params as numbers with an unquoted value, as text with a quoted one', () => {
    expect(checkFilter("params.epochs < 10 AND params.lr = '0.01' AND params.opt LIKE 'ad%'")).toEqual([
      expect.objectContaining({ operator: '<', compareAs: 'number', values: [10] }),
      expect.objectContaining({ operator: '=', compareAs: 'text', values: ['0.01'] }),
      expect.objectContaining({ operator: 'LIKE', compareAs: 'text', values: ['ad%'] }),
    ]);
  });

  it('compares tags and text attributes as text', () => {
    expect(
      checkFilter("tags.reason != 'x' AND run_name ILIKE 'MLP%' AND attributes.dataset NOT IN ('wine')"),
    ).toEqual([
      expect.objectContaining({ operator: '!=', compareAs: 'text', values: ['x'] }),
      expect.objectContaining({ entity: expect.objectContaining({ key: 'run_name' }), compareAs: 'text' }),
      expect.objectContaining({ operator: 'NOT IN', compareAs: 'text', values: ['wine'] }),
    ]);
  });

  it('accepts known run statuses, and any pattern with LIKE', () => {
    expect(checkFilter("status IN ('finished', 'failed') AND status LIKE 'fin%'")).toEqual([
      expect.objectContaining({ compareAs: 'text', values: ['finished', 'failed'] }),
      expect.objectContaining({ operator: 'LIKE', values: ['fin%'] }),
    ]);
  });

  it('normalises timestamps, written as ISO 8601 or as milliseconds since 1970', () => {
    expect(checkFilter("start_time > '2024-01-01' AND end_time <= 1700000000000")).toEqual([
      expect.objectContaining({ compareAs: 'timestamp', values: ['2024-01-01T00:00:00.000Z'] }),
      expect.objectContaining({ compareAs: 'timestamp', values: ['2023-11-14T22:13:20.000Z'] }),
    ]);
  });

  // One ill-typed comparison per kind of key: the message names the comparison, says why, and shows a fix.
  it.each([
    // metrics: numbers only, no patterns
    [
      "metrics.f1 = 'high'",
      13,
      /metrics compare with numbers: write the value unquoted, e.g. metrics.f1 = 0.9/,
    ],
    ["metrics.f1 LIKE '0.9%'", 11, /LIKE does not apply to metrics, which are numbers/],
    ['metrics.f1 > 1e999', 13, /1e999 is not a finite number/],
    ["metrics.f1 IN (1, 'x')", 14, /the list mixes numbers and quoted text/],
    // params: ordering needs a number; patterns need a quoted text
    ["params.lr < '0.1'", 12, /< compares params as numbers: write the value unquoted, e.g. params.lr < 0.1/],
    ['params.lr LIKE 3', 15, /LIKE needs a quoted pattern, e.g. params.lr LIKE 'abc%'/],
    // tags: text
    ['tags.reason = 1', 14, /tag 'reason' is text: quote the value, e.g. tags.reason = '1'/],
    [
      "tags.reason >= 'a'",
      12,
      />= does not apply to tag 'reason', which is text \(use =, !=, LIKE, ILIKE, IN or NOT IN\)/,
    ],
    // text attributes
    ['run_name = 7', 11, /the run attribute run_name is text: quote the value, e.g. run_name = '7'/],
    ["attributes.dataset > 'iris'", 19, /> does not apply to the run attribute dataset, which is text/],
    // status: text from a fixed set
    [
      'attributes.status = 1',
      20,
      /the run status is text: quote the value, e.g. attributes.status = 'finished'/,
    ],
    [
      "status IN ('finished', 'done')",
      10,
      /'done' is not a run status \(one of scheduled, running, finished, failed, killed\)/,
    ],
    ["status < 'running'", 7, /< does not apply to the run status, which is text/],
    // timestamps
    ["start_time > 'yesterday'", 13, /'yesterday' is not a timestamp between the years 1 and 9999/],
    ['end_time < 1e20', 11, /1e20 is not a timestamp/],
    ["start_time LIKE '2024%'", 11, /LIKE does not apply to start_time, a timestamp/],
  ])('refuses %s at character %d', (filter, position, message) => {
    const error = typeError(filter);
    expect(error.message).toMatch(message);
    expect(error.message.startsWith(`${filter}: `)).toBe(true);
    expect(error.position).toBe(position);
  });

  it('names the key, the operator and the value of the comparison at fault', () => {
    expect(typeError('metrics.a > 1 AND attributes.status IN (1, 2)').comparison).toEqual({
      key: 'attributes.status',
      operator: 'IN',
      value: '(1, 2)',
    });
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

  it('rejects a trailing word with its position', () => {
    const error = syntaxError(() => parseOrderBy('metrics.f1 DESC sideways'));
    expect(error.position).toBe(16);
  });
});
