import { setTrafficRequestSchema } from './traffic';

describe('setTrafficRequestSchema', () => {
  const problems = (body: unknown) => {
    const result = setTrafficRequestSchema.safeParse(body);
    return result.success ? [] : result.error.issues.map((issue) => issue.message);
  };

  it('takes integer weights by version summing to 100, and an optional shadow', () => {
    expect(problems({ weights: { '3': 90, '4': 10 }, shadow: 5, reason: 'canary' })).toEqual([]);
    expect(problems({ weights: { '3': 100 } })).toEqual([]);
  });

  it('refuses weights that do not sum to 100, naming the sum', () => {
    expect(problems({ weights: { '3': 90, '4': 5 } })).toEqual([
      'the weights must sum to 100 (they sum to 95)',
    ]);
  });

  it('refuses versions that are not positive integers, fractional or negative weights, too many versions', () => {
    expect(problems({ weights: { v3: 100 } })).not.toEqual([]);
    expect(problems({ weights: { '0': 100 } })).not.toEqual([]);
    expect(problems({ weights: { '3': 99.5, '4': 0.5 } })).not.toEqual([]);
    expect(problems({ weights: { '3': 110, '4': -10 } })).not.toEqual([]);
    const eleven = Object.fromEntries(
      Array.from({ length: 11 }, (_, i) => [String(i + 1), i === 0 ? 90 : 1]),
    );
    expect(problems({ weights: eleven })).toContain('at most 10 versions (MAX_TRAFFIC_VERSIONS)');
    expect(problems({ weights: {} })).toContain('name at least one version');
    expect(problems({ weights: { '3': 100 }, extra: 1 })).not.toEqual([]);
  });

  it('refuses a shadow beyond the largest version number (PostgreSQL integer), naming the bound', () => {
    expect(problems({ weights: { '3': 100 }, shadow: 2_147_483_647 })).toEqual([]);
    expect(problems({ weights: { '3': 100 }, shadow: 2_147_483_648 })).toEqual([
      'must be at most 2147483647',
    ]);
    expect(problems({ weights: { '3': 100 }, shadow: Number.MAX_SAFE_INTEGER })).not.toEqual([]);
  });
});
