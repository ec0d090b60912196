import { decidePromotion, type GateChampion } from './promotion-gate';

const V1 = 'a'.repeat(64);
const V2 = 'b'.repeat(64);
const policy = { minImprovement: 0, minAccuracy: 0.9 };
const candidate = (testAccuracy: number, datasetVersion = V1) => ({
  version: 2,
  testAccuracy,
  datasetVersion,
});
const champion = (
  testAccuracy: number | undefined,
  datasetVersion: string | undefined = V1,
): GateChampion => ({
  version: 1,
  testAccuracy,
  datasetVersion,
});

describe('decidePromotion', () => {
  it('promotes the first model that clears the floor', () => {
    expect(decidePromotion(candidate(0.93), null, policy)).toMatchObject({
      promote: true,
      alias: 'champion',
    });
    expect(decidePromotion(candidate(0.93), null, policy).reason).toMatch(/no champion yet/);
  });

  it('never promotes below the absolute floor, even without a champion', () => {
    const decision = decidePromotion(candidate(0.85), null, policy);
    expect(decision).toMatchObject({ promote: false, alias: 'challenger' });
    expect(decision.reason).toBe('test_accuracy 0.8500 is below the floor 0.9000');
  });

  it('accepts exactly the floor', () => {
    expect(decidePromotion(candidate(0.9), null, policy).promote).toBe(true);
  });

  it('keeps the champion on a tie and promotes a strictly better model', () => {
    const tie = decidePromotion(candidate(0.9333333333), champion(0.9333333333), policy);
    expect(tie).toMatchObject({ promote: false, alias: 'challenger' });
    expect(tie.reason).toMatch(/^does not beat the champion: .*on the same test split$/);
    expect(decidePromotion(candidate(29 / 30), champion(28 / 30), policy)).toMatchObject({
      promote: true,
      alias: 'champion',
    });
  });

  it('requires the configured margin, counting exactly the margin as enough', () => {
    const margin = { ...policy, minImprovement: 0.05 };
    const small = decidePromotion(candidate(0.95), champion(0.92), margin);
    expect(small.promote).toBe(false);
    expect(small.reason).toMatch(/does not beat the champion by the margin/);
    expect(decidePromotion(candidate(0.97), champion(0.92), margin).promote).toBe(true);
  });

  it('with a negative margin tolerates that much regression, and -1 promotes whatever clears the floor', () => {
    const tolerant = { ...policy, minImprovement: -0.02 };
    expect(decidePromotion(candidate(0.93), champion(0.94), tolerant).promote).toBe(true);
    expect(decidePromotion(candidate(0.91), champion(0.94), tolerant).promote).toBe(false);
    const always = { ...policy, minImprovement: -1 };
    expect(decidePromotion(candidate(0.9), champion(1), always).promote).toBe(true);
    expect(decidePromotion(candidate(0.89), champion(0.8), always).promote).toBe(false);
  });

  it('does not promote a worse model', () => {
    expect(decidePromotion(candidate(0.92), champion(0.97), policy).promote).toBe(false);
  });

  it('compares recorded metrics across dataset versions and says so', () => {
    const decision = decidePromotion(candidate(0.97, V2), champion(0.93, V1), policy);
    expect(decision.promote).toBe(true);
    expect(decision.reason).toMatch(
      /on recorded metrics: champion v1 was evaluated on dataset version aaaa.*not re-evaluated/,
    );
    expect(
      decidePromotion(candidate(0.97), { version: 1, testAccuracy: 0.93, datasetVersion: undefined }, policy)
        .reason,
    ).toMatch(/unknown/);
  });

  it('promotes over a champion without a recorded test accuracy', () => {
    expect(decidePromotion(candidate(0.95), champion(undefined), policy)).toMatchObject({ promote: true });
  });
});
