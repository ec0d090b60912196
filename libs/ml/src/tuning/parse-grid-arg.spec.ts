import { validateGrid } from './grid';
import { parseGridArg } from './parse-grid-arg';

describe('parseGridArg', () => {
  it('parses numbers as numbers and keeps other tokens as strings', () => {
    expect(parseGridArg('learningRate=0.001,1e-2;hiddenUnits=8,16;activation=relu,tanh')).toEqual({
      ok: true,
      value: { learningRate: [0.001, 0.01], hiddenUnits: [8, 16], activation: ['relu', 'tanh'] },
    });
  });

  it('tolerates spaces and a trailing semicolon', () => {
    expect(parseGridArg(' epochs = 10 , 20 ; ')).toEqual({ ok: true, value: { epochs: [10, 20] } });
  });

  it('keeps numeric-looking but malformed tokens as strings so validation names them', () => {
    const parsed = parseGridArg('learningRate=0.01x,.5');
    expect(parsed).toEqual({ ok: true, value: { learningRate: ['0.01x', 0.5] } });
    const validated = validateGrid(parsed.ok ? parsed.value : undefined);
    expect(validated.ok ? [] : validated.errors).toEqual([
      'learningRate: "0.01x" is a string, expected a number',
    ]);
  });

  it('names the bad token', () => {
    const errorsOf = (text: string) => {
      const result = parseGridArg(text);
      return result.ok ? [] : result.errors;
    };
    expect(errorsOf('learningRate')).toEqual(['"learningRate" is not of the form name=value1,value2']);
    expect(errorsOf('=1,2')).toEqual(['"=1,2" is not of the form name=value1,value2']);
    expect(errorsOf('hiddenUnits=8,,16')).toEqual(['"hiddenUnits=8,,16" has an empty value']);
    expect(errorsOf('epochs=')).toEqual(['"epochs=" has an empty value']);
    expect(errorsOf('epochs=1;epochs=2')).toEqual(['"epochs" is given more than once']);
    expect(errorsOf('  ')[0]).toMatch(/the grid is empty/);
  });

  it('does not let a __proto__ name reach the prototype', () => {
    const result = parseGridArg('__proto__=1');
    expect(result.ok).toBe(true);
    if (result.ok) {
      expect(Object.getPrototypeOf(result.value)).toBe(Object.prototype);
      expect(validateGrid(result.value).ok).toBe(false);
    }
  });
});
