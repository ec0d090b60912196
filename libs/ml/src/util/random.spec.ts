import { createRng, deriveSeed } from './random';

describe('createRng', () => {
  it('repeats the same sequence for the same seed', () => {
    const first = createRng(42);
    const second = createRng(42);
    const a = Array.from({ length: 20 }, () => first());
    const b = Array.from({ length: 20 }, () => second());
    expect(a).toEqual(b);
  });

  it('gives different sequences for different seeds', () => {
    const a = createRng(1);
    const b = createRng(2);
    const valuesA = Array.from({ length: 5 }, () => a());
    const valuesB = Array.from({ length: 5 }, () => b());
    expect(valuesA).not.toEqual(valuesB);
  });

  it('yields values in [0, 1) spread evenly over ten bins', () => {
    const next = createRng(7);
    const counts = new Array<number>(10).fill(0);
    const draws = 100_000;
    let outOfRange = 0;
    for (let i = 0; i < draws; i++) {
      const value = next();
      if (value < 0 || value >= 1) outOfRange++;
      else counts[Math.floor(value * 10)]++;
    }
    expect(outOfRange).toBe(0);
    for (const count of counts) {
      expect(Math.abs(count - draws / 10)).toBeLessThan(500);
    }
  });

  it('rejects a seed that is not a finite number', () => {
    expect(() => createRng(Number.NaN)).toThrow(/finite/);
  });
});

describe('deriveSeed', () => {
  it('gives each stream of a seed its own stable seed', () => {
    const seeds = Array.from({ length: 1000 }, (_, stream) => deriveSeed(42, stream));
    expect(new Set(seeds).size).toBe(1000);
    expect(deriveSeed(42, 7)).toBe(seeds[7]);
    expect(deriveSeed(43, 7)).not.toBe(seeds[7]);
    seeds.forEach((seed) => expect(Number.isInteger(seed) && seed >= 0 && seed < 2 ** 32).toBe(true));
  });

  it('rejects a seed that is not finite and a stream that is not an index', () => {
    expect(() => deriveSeed(Number.NaN, 0)).toThrow(/finite seed/);
    expect(() => deriveSeed(1, -1)).toThrow(/stream index >= 0/);
  });
});
