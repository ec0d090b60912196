import { carveStratifiedHoldout } from './validation-split';

describe('carveStratifiedHoldout', () => {
  const labels = [...Array(50).fill(0), ...Array(30).fill(1), ...Array(20).fill(2)] as number[];
  const countOf = (rows: number[], label: number) => rows.filter((row) => labels[row] === label).length;

  it("holds out each class's share and keeps every row exactly once, in ascending order", () => {
    const { fit, holdout } = carveStratifiedHoldout(labels, 0.2, 9);
    expect([countOf(holdout, 0), countOf(holdout, 1), countOf(holdout, 2)]).toEqual([10, 6, 4]);
    expect([...fit, ...holdout].sort((a, b) => a - b)).toEqual(labels.map((_, row) => row));
    expect(holdout).toEqual([...holdout].sort((a, b) => a - b));
  });

  it('repeats with the same seed and differs with another', () => {
    expect(carveStratifiedHoldout(labels, 0.2, 9)).toEqual(carveStratifiedHoldout(labels, 0.2, 9));
    expect(carveStratifiedHoldout(labels, 0.2, 10).holdout).not.toEqual(
      carveStratifiedHoldout(labels, 0.2, 9).holdout,
    );
  });

  it('rejects a fraction outside (0, 1)', () => {
    expect(() => carveStratifiedHoldout(labels, 1, 9)).toThrow(RangeError);
  });
});
