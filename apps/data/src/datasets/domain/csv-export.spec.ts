import { csvCell, csvText } from './csv-export';

describe('CSV export cells', () => {
  it.each([
    ['=HYPERLINK("http://evil.example","x")', `"'=HYPERLINK(""http://evil.example"",""x"")"`],
    ['+1+1', "'+1+1"],
    ['-2+3', "'-2+3"],
    ['@SUM(A1)', "'@SUM(A1)"],
    ['\tcmd', "'\tcmd"],
    ['\rcmd', `"'\rcmd"`],
    ['plain', 'plain'],
    ['a,b', '"a,b"'],
    ['', ''],
  ])('writes %j as %j', (text, written) => {
    expect(csvText(text)).toBe(written);
  });

  it('writes numbers as numbers, negative ones too, and a missing value as an empty cell', () => {
    expect(csvCell(-1.5)).toBe('-1.5');
    expect(csvCell(null)).toBe('');
    expect(csvCell('-1.5')).toBe("'-1.5");
  });
});
