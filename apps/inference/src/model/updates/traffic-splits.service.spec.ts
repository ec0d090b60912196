import { createRng } from '@sepal/ml';
import { MODEL } from '../../../test/fakes';
import { at, FakeGateway, managerHarness } from '../../../test/manager-harness';

/** The split's draws are seeded: a count outside the bounds can be replayed with SEPAL_TEST_SEED. */
const SEED = Number(process.env['SEPAL_TEST_SEED'] ?? Date.now() % 2 ** 31);

describe('TrafficSplits', () => {
  beforeAll(() => console.log(`traffic-splits.service.spec seed ${SEED} (SEPAL_TEST_SEED to replay)`));
  const harness = managerHarness();
  let gateway: FakeGateway;
  beforeEach(() => (gateway = harness.gateway));
  const { served, promote } = harness;
  /** model.traffic as heard: only its model name counts (the registry's split is applied). */
  const trafficEvent = (modelName = MODEL) => ({ modelName });

  it('splits requests by weight, keeps split versions loaded and promotes the canary with its warmed session', async () => {
    const { registry, manager, sessions } = gateway;
    const [v1, v2] = [registry.add(1), registry.add(2)];
    await promote(v1, at(1));
    registry.setTraffic([
      [1, 90],
      [2, 10],
    ]);
    expect(await manager.onTraffic(trafficEvent())).toMatchObject({ result: 'success' });
    // The same split heard again (or a forged model.traffic): its revision is in force, nothing changes.
    expect(await manager.onTraffic(trafficEvent())).toMatchObject({
      result: 'skipped',
      reason: 'this traffic split is already in force',
    });
    expect(v2.version).toBe(2);
    const counts = new Map<number, number>();
    const draws = jest.spyOn(Math, 'random').mockImplementation(createRng(SEED));
    try {
      for (let i = 0; i < 4000; i++) {
        const model = manager.requireModel();
        counts.set(model.info.version, (counts.get(model.info.version) ?? 0) + 1);
        model.release();
      }
    } finally {
      draws.mockRestore();
    }
    expect(counts.get(2)).toBeGreaterThan(280);
    expect(counts.get(2)).toBeLessThan(520);
    const created = sessions.created.length;
    await promote(v2, at(3));
    expect(sessions.created.length).toBe(created);
    expect(served()).toBe(2);
    // v1 is still named by the split: it keeps serving its share instead of being retired.
    expect(manager.find(MODEL).loaded(1)?.isReleased).toBe(false);
  });

  it('leaves the previous split in force when a version of the new one cannot load', async () => {
    const { registry, manager } = gateway;
    await promote(registry.add(1), at(1));
    registry.setTraffic([
      [1, 50],
      [7, 50], // no artifact for it
    ]);
    expect(await manager.onTraffic(trafficEvent())).toMatchObject({
      result: 'failure',
      reason: expect.stringMatching(/cannot load v7/),
    });
    expect(manager.find(MODEL).split).toBeNull();
  });

  it('applies the registry’s split, not the one a forged model.traffic carries', async () => {
    const { registry, manager } = gateway;
    const [v1, v2] = [registry.add(1), registry.add(2)];
    await promote(v1, at(1));
    const real = registry.setTraffic([[1, 100]], 2);
    const forged = {
      ...real,
      weights: [
        { version: 2, weight: 100, sha256: 'e'.repeat(64), artifactUrl: 'http://attacker.example/x' },
      ],
      shadow: null,
      changedAt: new Date(Date.UTC(2099, 0, 1)).toISOString(),
      revision: 999,
    };
    expect(await manager.onTraffic(forged)).toMatchObject({ result: 'success' });
    const entry = manager.find(MODEL);
    expect(entry.traffic).toEqual(real);
    expect(entry.split).toBeNull(); // all to the champion, as the registry says
    expect(entry.shadow?.info).toMatchObject({ version: 2, sha256: v2.sha256 });
    expect(registry.downloads).toEqual([v1.sha256, v2.sha256]);
    // A later real change is applied: the forged revision and time made nothing look stale.
    registry.setTraffic([
      [1, 50],
      [2, 50],
    ]);
    expect(await manager.onTraffic(trafficEvent())).toMatchObject({ result: 'success' });
    expect(entry.split).toEqual([
      { version: 1, upTo: 50 },
      { version: 2, upTo: 100 },
    ]);
  });
});
