import { UnavailableError } from '@sepal/contracts';
import { waitFor } from '@sepal/testing/wait-for';
import { artifact, FEATURES, MODEL } from '../../../test/fakes';
import { at, FakeGateway, managerHarness } from '../../../test/manager-harness';

describe('ModelCatalog', () => {
  const harness = managerHarness();
  let gateway: FakeGateway;
  beforeEach(() => (gateway = harness.gateway));
  const { served, promote } = harness;
  const OTHER = 'OtherModel';

  it('loads the champion on start and reports it healthy', async () => {
    const { registry, manager, health } = gateway;
    registry.promote(registry.add(1));
    manager.onApplicationBootstrap();
    await waitFor(() => served() === 1, { description: 'the champion to be served' });
    const model = gateway.holder.model!;
    expect(model.info).toMatchObject({
      name: MODEL,
      version: 1,
      sha256: registry.championOf.get(MODEL)!.sha256,
    });
    expect(model.signature.featureNames).toEqual(FEATURES);
    expect((await health.report()).checks.model).toEqual({
      status: 'up',
      detail: `${MODEL} v1 (${model.info.sha256.slice(0, 12)})`,
    });
  });

  it('answers 503 naming the reason while there is no champion, and loads it once there is one', async () => {
    const { registry, manager } = gateway;
    manager.onApplicationBootstrap();
    await waitFor(() => {
      try {
        manager.requireModel();
        return false;
      } catch (error) {
        return error instanceof UnavailableError && /has no champion for IrisModel yet/.test(error.message);
      }
    });
    expect(() => manager.requireModel()).toThrow(
      'no model is being served yet: the registry at http://registry.test has no champion for IrisModel yet',
    );
    registry.promote(registry.add(1));
    await waitFor(() => served() === 1, { description: 'the retry to load the new champion' });
  });

  it('serves a model promoted for the first time, and reloads only the model promoted', async () => {
    const { registry, manager } = gateway;
    const v1 = registry.add(1);
    await promote(v1, at(1));
    const irisModel = gateway.holder.model;
    const o1 = registry.add(1, artifact({ tag: 11 }), OTHER);
    expect(await promote(o1, at(2), { modelName: OTHER })).toMatchObject({
      result: 'success',
      model: { name: OTHER, version: 1 },
    });
    const o2 = registry.add(2, artifact({ tag: 12 }), OTHER);
    await promote(o2, at(3), { modelName: OTHER });
    expect(manager.find(OTHER).champion.model?.info.version).toBe(2);
    expect(gateway.holder.model).toBe(irisModel);
    const held = manager.requireModel(OTHER);
    expect(held.info).toMatchObject({ name: OTHER, version: 2 });
    held.release();
    expect(() => manager.requireModel('Nope')).toThrow(/unknown model 'Nope'/);
  });
});
