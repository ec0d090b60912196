import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { findDefinition, IRIS } from '../../catalog/catalog';
import { DatasetFormatError } from './dataset-format-error';
import { buildLabelMap } from './label-map';
import { parseDelimited } from './parse-delimited';
import { readImport } from './read-import';
import { buildVersionContent } from './version-content';

const irisText = readFileSync(join(__dirname, '../../../../../data/iris/iris.data'), 'utf8');

function irisVersion(text = irisText) {
  const { schema, rows, applied } = readImport(text, IRIS, 'iris.data');
  return { applied, content: buildVersionContent(schema, rows, { testFraction: 0.2, seed: 42 }) };
}

describe('Iris import domain', () => {
  it('parses 150 rows and ignores the trailing blank line', () => {
    expect(parseDelimited(irisText, IRIS)).toHaveLength(150);
  });

  it('applies the two documented corrections to rows 35 and 38', () => {
    const { applied, content } = irisVersion();
    expect(applied.map((a) => a.id)).toEqual(['uci-iris-erratum-35', 'uci-iris-erratum-38']);
    expect(content.rows[34].features).toEqual([4.9, 3.1, 1.5, 0.2]);
    expect(content.rows[37].features).toEqual([4.9, 3.6, 1.4, 0.1]);
    expect(applied[1].changes).toEqual([
      { feature: 'sepal_width', from: 3.1, to: 3.6 },
      { feature: 'petal_length', from: 1.5, to: 1.4 },
    ]);
  });

  it('does not re-apply a correction to an already corrected file', () => {
    const lines = irisText.split('\n');
    lines[34] = '4.9,3.1,1.5,0.2,Iris-setosa';
    lines[37] = '4.9,3.6,1.4,0.1,Iris-setosa';
    const { applied } = irisVersion(lines.join('\n'));
    expect(applied).toEqual([]);
  });

  it('encodes the classes 0-2 and splits exactly 40/10 per class', () => {
    const { content } = irisVersion();
    expect(content.schema.labels).toEqual(['Iris-setosa', 'Iris-versicolor', 'Iris-virginica']);
    for (const label of content.schema.labels) {
      expect(content.classCounts.train[label]).toBe(40);
      expect(content.classCounts.test[label]).toBe(10);
    }
  });

  it('gives the same id for the same content and a new id when any value changes', () => {
    const first = irisVersion().content.id;
    expect(irisVersion().content.id).toBe(first);
    const changed = irisText.replace('5.1,3.5,1.4,0.2,Iris-setosa', '5.1,3.5,1.4,0.3,Iris-setosa');
    expect(irisVersion(changed).content.id).not.toBe(first);
    expect(first).toMatch(/^[0-9a-f]{64}$/);
  });

  it.each([
    ['5.1,3.5,1.4,Iris-setosa', /line 1: expected 5 columns/],
    ['5.1,abc,1.4,0.2,Iris-setosa', /line 1: column 'sepal_width': 'abc' is not a finite number/],
    ['5.1,3.5,1.4,Infinity,Iris-setosa', /line 1: column 'petal_width'/],
    ['5.1,3.5,1.4,0.2,Iris-unknown', /line 1: unknown class 'Iris-unknown'/],
    ['', /empty/],
    ['"fixed acidity";"volatile acidity"\n7.4;0.7', /line 1: expected 5 columns separated by ','/],
    ['5.1,3.5,1.4,0.2,Iris-setosa\n\n5.0,3.6,1.4,0.2,Iris-setosa', /line 2: blank line/],
  ])('rejects %j naming the line and the problem', (text, message) => {
    expect(() => parseDelimited(text, IRIS)).toThrow(DatasetFormatError);
    expect(() => parseDelimited(text, IRIS)).toThrow(message);
  });
});

describe('Wine Quality import domain', () => {
  const red = findDefinition('wine-quality-red')!;
  const text = readFileSync(join(__dirname, '../../../../../data/wine-quality/winequality-red.csv'), 'utf8');

  it('reads the quoted, semicolon-separated header and all 1,599 rows, classes sorted as numbers', () => {
    const rows = parseDelimited(text, red);
    expect(rows).toHaveLength(1599);
    expect(rows[0].features).toHaveLength(11);
    expect(
      buildLabelMap(
        red,
        rows.map((r) => r.className),
      ),
    ).toEqual(['3', '4', '5', '6', '7', '8']);
  });

  it('refuses a file whose header is not the declared one, naming it', () => {
    expect(() => parseDelimited(text.replace('"alcohol"', '"ethanol"'), red)).toThrow(
      /line 1: header must be/,
    );
  });
});
