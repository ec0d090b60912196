import { EarlyStopping } from './early-stopping';

function observeAll(stopping: EarlyStopping, losses: number[]) {
  return losses.map((loss, index) => stopping.observe(index + 1, loss));
}

describe('EarlyStopping', () => {
  it('stops after `patience` epochs without a new minimum and remembers the best epoch', () => {
    const stopping = new EarlyStopping(2);
    const verdicts = observeAll(stopping, [1.0, 0.8, 0.9, 0.8, 0.7, 0.75, 0.71]);
    expect(verdicts.map((verdict) => verdict.improved)).toEqual([
      true,
      true,
      false,
      false,
      true,
      false,
      false,
    ]);
    expect(verdicts.map((verdict) => verdict.stop)).toEqual([false, false, false, true, false, false, true]);
    expect(stopping.bestEpoch).toBe(5);
  });

  it('never stops with patience 0 but still tracks the best epoch', () => {
    const stopping = new EarlyStopping(0);
    expect(observeAll(stopping, [1, 2, 3, 4, 5]).some((verdict) => verdict.stop)).toBe(false);
    expect(stopping.bestEpoch).toBe(1);
  });

  it('rejects a negative or fractional patience', () => {
    expect(() => new EarlyStopping(-1)).toThrow('patience must be a non-negative integer');
    expect(() => new EarlyStopping(1.5)).toThrow('patience must be a non-negative integer');
  });
});
