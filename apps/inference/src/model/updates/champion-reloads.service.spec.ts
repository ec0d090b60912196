import { waitFor } from '@sepal/testing/wait-for';
import { artifact, MODEL, promoted, reloads, servedReports } from '../../../test/fakes';
import { at, FakeGateway, managerHarness } from '../../../test/manager-harness';

describe('ChampionReloads', () => {
  const harness = managerHarness();
  let gateway: FakeGateway;
  beforeEach(() => (gateway = harness.gateway));
  const { served, servedInfo, promote } = harness;

  it('serves a champion only once the dataset its feedback goes to is known', async () => {
    const { registry, manager } = gateway;
    let answer: (dataset: string) => void = () => undefined;
    const lookup = jest
      .spyOn(registry, 'dataset')
      .mockImplementation(() => new Promise<string>((resolve) => (answer = resolve)));
    const promotion = promote(registry.add(1), at(1));
    await waitFor(() => lookup.mock.calls.length === 1, { description: 'the lineage lookup' });
    expect(served()).toBeNull();
    answer('iris');
    await promotion;
    expect(served()).toBe(1);
    expect(manager.find(MODEL).dataset).toBe('iris');
  });

  it('swaps a newer promotion in atomically: a request in flight finishes on the old session', async () => {
    const { registry, holder, sessions } = gateway;
    const v1 = registry.add(1);
    await promote(v1, at(1));
    const [v1Session] = sessions.created;
    const held = holder.acquire()!;

    const outcome = await promote(registry.add(2), at(2));

    expect(outcome).toMatchObject({ result: 'success', model: { version: 2 }, previous: { version: 1 } });
    expect(served()).toBe(2);
    expect(held.info.version).toBe(1);
    expect(v1Session.released).toBe(false);
    held.release();
    await Promise.resolve();
    expect(v1Session.released).toBe(true);
    expect(sessions.created[1].released).toBe(false);
  });

  it('serves what the registry says, whatever the event says: a stale one changes nothing, a rollback is served', async () => {
    const { registry, manager, metrics } = gateway;
    const [v1, v2, v3] = [registry.add(1), registry.add(2), registry.add(3)];
    await promote(v2, at(2));
    const skippedBefore = await reloads(metrics, 'skipped');

    // An old model.promoted (v3) delivered late: the registry's champion is still v2.
    const stale = await manager.onPromoted(promoted(v3, at(1)));
    expect(stale).toMatchObject({ result: 'skipped', reason: 'in step with the registry' });
    const same = await manager.onPromoted(promoted(v2, at(3)));
    expect(same).toMatchObject({ result: 'skipped', reason: 'in step with the registry' });
    expect(served()).toBe(2);
    expect(await reloads(metrics, 'skipped')).toBe(skippedBefore + 2);
    expect(registry.downloads).toEqual([v2.sha256]);
    // A promotion of an older version is a rollback, and is served, whatever time its event carries.
    expect(await promote(v1, at(0))).toMatchObject({ result: 'success' });
    expect(served()).toBe(1);
  });

  it('ends with the registry’s champion after two promotions in quick succession', async () => {
    const { registry, manager } = gateway;
    const [v1, v2] = [registry.add(1), registry.add(2)];
    registry.promote(v1);
    const first = manager.onPromoted(promoted(v1, at(1)));
    registry.promote(v2);
    const second = manager.onPromoted(promoted(v2, at(2)));
    // Both events ask the registry; v1 is never served once the registry says v2.
    await Promise.all([first, second]);
    expect(served()).toBe(2);
    expect(registry.downloads).toEqual([v2.sha256]);
  });

  describe('a forged model.promoted changes nothing', () => {
    const foreignBytes = () => artifact({ tag: 666 });

    beforeEach(async () => {
      await promote(gateway.registry.add(1), at(1));
      gateway.registry.downloads = [];
    });

    it.each([
      [
        'the champion’s version with another SHA-256 and a foreign artifactUrl',
        () =>
          promoted({ version: 1, sha256: 'e'.repeat(64) }, new Date(Date.UTC(2099, 0, 1)), {
            artifactUrl: 'http://attacker.example/model.onnx',
          }),
      ],
      [
        'a version the registry does not have, promoted years ahead',
        () => promoted({ version: 9, sha256: 'e'.repeat(64) }, new Date(Date.UTC(2099, 0, 1))),
      ],
      [
        'an uploaded but unpromoted version',
        () => promoted(gateway.registry.add(2, foreignBytes()), new Date(Date.UTC(2099, 0, 1))),
      ],
    ])('%s', async (_case, forge) => {
      const { manager, registry } = gateway;
      const before = servedInfo();
      const outcome = await manager.onPromoted(forge());
      expect(outcome).toMatchObject({ result: 'skipped', reason: 'in step with the registry' });
      expect(servedInfo()).toEqual(before);
      expect(before).toMatchObject({ version: 1, sha256: registry.championOf.get(MODEL)!.sha256 });
      expect(registry.downloads).toEqual([]);
      // A real promotion afterwards is served at once: the forged time made nothing look superseded.
      expect(await promote(registry.add(3), at(2))).toMatchObject({
        result: 'success',
        model: { version: 3 },
      });
      expect(served()).toBe(3);
    });

    it('a flood of forged events costs one registry read while a reload runs', async () => {
      const { manager, registry } = gateway;
      const champion = jest.spyOn(registry, 'champion');
      const forged = promoted({ version: 1, sha256: 'e'.repeat(64) }, at(5));
      await Promise.all(Array.from({ length: 50 }, () => manager.onPromoted(forged)));
      expect(champion.mock.calls.length).toBeLessThanOrEqual(2);
      expect(served()).toBe(1);
    });
  });

  describe('a failed load keeps the old model serving and is counted', () => {
    async function failedPromotion(prepare: () => ReturnType<typeof gateway.registry.add>) {
      const { registry, manager, metrics } = gateway;
      await promote(registry.add(1), at(1));
      const failuresBefore = await reloads(metrics, 'failure');
      const next = prepare();
      registry.promote(next);
      const outcome = await manager.onPromoted(promoted(next, at(2)));
      expect(outcome).toMatchObject({ result: 'failure', model: { version: 1 } });
      expect(served()).toBe(1);
      expect(manager.requireModel().info.version).toBe(1);
      expect(await reloads(metrics, 'failure')).toBe(failuresBefore + 1);
      return outcome.result === 'failure' ? outcome.reason : '';
    }

    it('when the artifact does not match its SHA-256', async () => {
      const reason = await failedPromotion(() => {
        const v2 = gateway.registry.add(2);
        gateway.registry.artifacts.set(v2.sha256, artifact({ tag: 99 }));
        return v2;
      });
      expect(reason).toMatch(
        /^cannot load IrisModel v2: SHA-256 mismatch for version 2: expected [0-9a-f]{64}, downloaded/,
      );
    });

    it('when its metadata lacks a key, naming the key', async () => {
      const reason = await failedPromotion(() =>
        gateway.registry.add(2, artifact({ metadata: { label_map: '["a","b","c"]' } })),
      );
      expect(reason).toBe("cannot load IrisModel v2: version 2: the ONNX metadata has no 'feature_names'");
      expect(gateway.sessions.created).toHaveLength(1);
    });

    it('when its metadata is malformed, naming the key', async () => {
      const reason = await failedPromotion(() =>
        gateway.registry.add(
          2,
          artifact({ metadata: { label_map: '["a","b","c"]', feature_names: '["x","y"]', run_id: 'run 7' } }),
        ),
      );
      expect(reason).toBe(
        "cannot load IrisModel v2: version 2: the ONNX metadata 'run_id': must be a registry run id (a UUID)",
      );
    });

    it('when onnxruntime refuses the model', async () => {
      const reason = await failedPromotion(() => {
        gateway.sessions.failure = new Error('invalid graph');
        return gateway.registry.add(2);
      });
      expect(reason).toBe('cannot load IrisModel v2: version 2: onnxruntime cannot load it (invalid graph)');
    });

    it('when the warm-up run disagrees with the class count, releasing the new session', async () => {
      const reason = await failedPromotion(() => {
        gateway.sessions.classes = 2;
        return gateway.registry.add(2);
      });
      expect(reason).toMatch(/the warm-up run failed \(it returns 2 probabilities per row for 3 classes\)/);
      expect(gateway.sessions.created[1].released).toBe(true);
    });

    it('when the registry cannot be reached', async () => {
      const reason = await failedPromotion(() => {
        const v2 = gateway.registry.add(2);
        gateway.registry.unreachable = true;
        return v2;
      });
      expect(reason).toMatch(
        /^cannot look up the champion of IrisModel: registry: GET .* failed: connect ECONNREFUSED/,
      );
    });
  });

  it('reloads the champion on demand, and reports an unreachable registry as a failure', async () => {
    const { registry, manager } = gateway;
    registry.promote(registry.add(1));
    expect(await manager.reloadChampion()).toMatchObject({ result: 'success', model: { version: 1 } });
    expect(await manager.reloadChampion()).toMatchObject({ result: 'skipped' });
    registry.unreachable = true;
    const outcome = await manager.reloadChampion();
    expect(outcome).toMatchObject({ result: 'failure', model: { version: 1 } });
    expect(outcome.result === 'failure' && outcome.reason).toMatch(
      /^cannot look up the champion of IrisModel: registry: .*ECONNREFUSED/,
    );
  });

  describe('model.served', () => {
    const announced = () => gateway.publisher.published.map((event) => event.version);

    it('announces each version swapped in, whatever brought it: start, promotion, reload, catch-up', async () => {
      const { registry, manager, reporter, publisher } = gateway;
      registry.promote(registry.add(1));
      manager.onApplicationBootstrap();
      await waitFor(() => served() === 1, { description: 'the champion to be served' });
      await promote(registry.add(2), at(1));
      registry.promote(registry.add(3));
      await manager.reloadChampion();
      registry.promote(registry.add(4));
      await manager.syncWithRegistry();
      // Loads that change nothing announce nothing.
      await manager.reloadChampion();
      await manager.syncWithRegistry();
      await reporter.settled();
      expect(announced()).toEqual([1, 2, 3, 4]);
      expect(publisher.published[3]).toMatchObject({
        modelName: MODEL,
        version: 4,
        sha256: registry.championOf.get(MODEL)!.sha256,
        replica: 'gw-test:3000',
      });
    });

    it('never holds up or fails a swap: a broker that hangs, then refuses, leaves the new version serving', async () => {
      const { registry, manager, publisher, reporter, metrics } = gateway;
      let release!: () => void;
      publisher.gate = new Promise<void>((resolve) => (release = resolve));
      publisher.failure = new Error(
        'publishing model.served was not confirmed by the broker within 10000 ms',
      );
      const failuresBefore = await servedReports(metrics, 'failure');

      const outcome = await promote(registry.add(1), at(1));
      expect(outcome).toMatchObject({ result: 'success', model: { version: 1 } });
      expect(publisher.attempts).toHaveLength(1);
      const answer = await gateway.predictions.predict({ features: [1, 0] });
      expect(answer.model.version).toBe(1);

      release();
      await reporter.settled();
      expect(await servedReports(metrics, 'failure')).toBe(failuresBefore + 1);
      expect(served()).toBe(1);
      expect(announced()).toEqual([]);

      // The next champion check (here: in step with the registry) sends it again once the broker is back.
      publisher.gate = null;
      publisher.failure = null;
      registry.promote(registry.add(1));
      expect(await manager.syncWithRegistry()).toMatchObject({ result: 'skipped' });
      await reporter.settled();
      expect(announced()).toEqual([1]);
    });
  });
});
