import { Readable } from 'node:stream';
import { labelMap, looksLikeHeader, planImport, RowConverter, sniffDelimiter } from './csv-import';
import { CsvRecordReader } from './csv-records';
import { openCsv } from './csv-stream';
import { DatasetFormatError } from './dataset-format-error';

const records = (text: string, delimiter = ',') => {
  const reader = new CsvRecordReader(delimiter);
  return [...reader.push(text), ...reader.end()];
};

describe('CsvRecordReader', () => {
  it('reads quoted cells with delimiters, doubled quotes and line breaks, across chunk borders', () => {
    const text = 'a,"b, c","say ""hi""","two\nlines"\r\n1,2,3,4\n';
    for (let cut = 1; cut < text.length; cut++) {
      const reader = new CsvRecordReader(',');
      const out = [...reader.push(text.slice(0, cut)), ...reader.push(text.slice(cut)), ...reader.end()];
      expect(out).toEqual([
        { line: 1, cells: ['a', 'b, c', 'say "hi"', 'two\nlines'] },
        { line: 3, cells: ['1', '2', '3', '4'] },
      ]);
    }
  });

  it('skips blank lines, keeps line numbers, and refuses an unclosed quote at the end', () => {
    expect(records('a,b\n\n1,2')).toEqual([
      { line: 1, cells: ['a', 'b'] },
      { line: 3, cells: ['1', '2'] },
    ]);
    expect(() => records('a,"b\n1,2')).toThrow(/quoted cell is not closed/);
  });
});

describe('schema inference', () => {
  it('detects the delimiter and the header', () => {
    expect(sniffDelimiter('a;b;c\n1;2;3\n')).toBe(';');
    expect(sniffDelimiter('a\tb\n1\t2\n')).toBe('\t');
    expect(sniffDelimiter('a,b\n1,2\n')).toBe(',');
    expect(looksLikeHeader(records('x,y\n1,2\n'))).toBe(true);
    expect(looksLikeHeader(records('1,2\n3,4\n'))).toBe(false);
    expect(looksLikeHeader(records('red,cat\nblue,dog\nred,cat\n'))).toBe(false);
  });

  it('types columns, guesses the task from the target, and lets options override both', () => {
    const sample = records('n,c,k,y\n1.5,u,1,2.25\nNA,v,2,3.5\n2,,3,4.75\n');
    const plan = planImport(',', sample, { target: 'y' });
    expect(plan.schema.columns).toEqual([
      { name: 'n', type: 'numeric' },
      { name: 'c', type: 'categorical', encoding: 'one-hot' },
      { name: 'k', type: 'numeric' },
    ]);
    expect(plan.schema.task).toBe('regression');
    expect(planImport(',', sample, { target: 'k' }).schema.task).toBe('classification');
    const forced = planImport(',', sample, { target: 'y', task: 'classification', categorical: ['k'] });
    expect(forced.schema.task).toBe('classification');
    expect(forced.schema.columns?.[2].type).toBe('categorical');
  });

  it('converts cells: missing to null, categories to strings, and names the line and column of a bad cell', () => {
    const sample = records('n,c,y\n1,u,a\n?,,b\n');
    const plan = planImport(',', sample, { target: 'y' });
    const converter = new RowConverter(plan);
    expect(converter.convert(sample[1])).toEqual({ line: 2, features: [1, 'u'], label: 'a' });
    expect(converter.convert(sample[2])).toEqual({ line: 3, features: [null, null], label: 'b' });
    expect(() => converter.convert({ line: 9, cells: ['x', 'u', 'a'] })).toThrow(DatasetFormatError);
    expect(() => converter.convert({ line: 9, cells: ['x', 'u', 'a'] })).toThrow(
      /^line 9: column 'n': 'x' is not a number/,
    );
  });

  it('checks a file against a stored schema, naming the missing column', () => {
    const existing = {
      features: ['a', 'b'],
      target: 'y',
      task: 'classification' as const,
      labels: ['0', '1'],
    };
    expect(() => planImport(',', records('a,y\n1,0\n'), { existing })).toThrow(
      /column 'b' of the dataset's schema is missing/,
    );
  });

  it('keeps stored label indices and appends new classes sorted', () => {
    expect(labelMap(undefined, [], ['10', '9', '3'])).toEqual(['3', '9', '10']);
    expect(labelMap(undefined, ['b'], ['a', 'b', 'c'])).toEqual(['b', 'a', 'c']);
    expect(labelMap(['x', 'y'], [], ['y'])).toEqual(['x', 'y']);
  });
});

describe('openCsv', () => {
  const open = (chunks: (string | Buffer)[], maxBytes = 1000) =>
    openCsv(Readable.from(chunks), { maxBytes, limitSetting: 'LIMIT' });

  it('refuses binary, non-UTF-8, oversized and empty input', async () => {
    await expect(open([Buffer.from([0x61, 0x00, 0x62])])).rejects.toThrow(/binary/);
    await expect(open([Buffer.from([0x61, 0xff, 0x0a])])).rejects.toThrow(/not UTF-8/);
    await expect(open(['a,b\n'.repeat(400)])).rejects.toMatchObject({ statusCode: 413 });
    await expect(open([''])).rejects.toThrow(/empty/);
  });

  it('hands out the sample and then the rest, whatever the chunking', async () => {
    const text = Array.from({ length: 50 }, (_, i) => `${i},${i * 2}`).join('\n');
    const opened = await openCsv(Readable.from(text.match(/.{1,7}/gs) ?? []), {
      maxBytes: 1e6,
      limitSetting: 'LIMIT',
      sampleRecords: 10,
    });
    const rest: number[] = [];
    for await (const batch of opened.rest) rest.push(...batch.map((r) => r.line));
    expect(opened.sample.map((r) => r.line)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
    expect(rest).toEqual(Array.from({ length: 40 }, (_, i) => i + 11));
  });
});
