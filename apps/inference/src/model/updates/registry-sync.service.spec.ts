import { artifact, fakeGateway, MODEL, promoted } from '../../../test/fakes';
import { at, FakeGateway, managerHarness } from '../../../test/manager-harness';

describe('RegistrySync', () => {
  const harness = managerHarness();
  let gateway: FakeGateway;
  beforeEach(() => (gateway = harness.gateway));
  const { served, promote } = harness;

  it('skips the promotion of a model outside SERVE_MODELS, or of another alias', async () => {
    const listed = fakeGateway({ SERVE_MODELS: MODEL });
    const v1 = listed.registry.add(1, undefined, 'Other');
    listed.registry.promote(v1, 'Other');
    expect(await listed.manager.onPromoted(promoted(v1, at(1), { modelName: 'Other' }))).toMatchObject({
      result: 'skipped',
      reason: 'Other is not in SERVE_MODELS',
    });
    expect(listed.registry.downloads).toEqual([]);
    const { registry, manager } = gateway;
    expect(await manager.onPromoted(promoted(v1, at(1), { alias: 'challenger' }))).toMatchObject({
      result: 'skipped',
    });
    expect(registry.downloads).toEqual([]);
  });

  it('catches up with a champion whose model.promoted was missed', async () => {
    const { registry, manager } = gateway;
    registry.promote(registry.add(1));
    await manager.reloadChampion();
    expect(await manager.syncWithRegistry()).toMatchObject({
      result: 'skipped',
      reason: 'in step with the registry',
    });
    registry.promote(registry.add(2));
    expect(await manager.syncWithRegistry()).toMatchObject({ result: 'success', model: { version: 2 } });
    expect(served()).toBe(2);
  });

  it('the periodic sync compares the SHA-256 and the traffic revision, not only the version', async () => {
    const { registry, manager } = gateway;
    await promote(registry.add(1), at(1));
    // The registry's v1 now names other bytes (a registry restored from another backup, say).
    const replaced = registry.add(1, artifact({ tag: 41 }));
    registry.promote(replaced);
    expect(await manager.syncWithRegistry()).toMatchObject({ result: 'success', model: { version: 1 } });
    expect(gateway.holder.model?.info.sha256).toBe(replaced.sha256);
    registry.setTraffic([[1, 100]]);
    await manager.syncWithRegistry();
    expect(manager.find(MODEL).traffic?.revision).toBe(1);
  });
});
