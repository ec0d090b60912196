import { Logger } from '@nestjs/common';
import { encodeOnnxMetadata } from '@sepal/contracts';
import { fitPsiReference } from '@sepal/ml';
import { artifact, DATASET_VERSION, fakeGateway, FEATURES, LABELS, MODEL, RUN_ID } from '../../../test/fakes';

describe('ModelLoader', () => {
  let gateway: ReturnType<typeof fakeGateway>;

  beforeEach(() => {
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    gateway = fakeGateway();
  });
  afterEach(() => jest.restoreAllMocks());

  it('loads a verified artifact, traced to its run and dataset version, warmed with one run', async () => {
    const { registry, loader, sessions } = gateway;
    const source = registry.add(4);
    const model = await loader.load(MODEL, source);
    try {
      expect(model.info).toMatchObject({
        name: MODEL,
        version: 4,
        sha256: source.sha256,
        runId: RUN_ID,
        datasetVersion: DATASET_VERSION,
        size: registry.artifacts.get(source.sha256)!.length,
      });
      expect(model.signature.featureNames).toEqual(FEATURES);
      expect(model.signature.labels).toEqual(LABELS);
      expect(sessions.created).toHaveLength(1);
      expect(sessions.created[0].runs).toEqual([1]);
      expect(model.drift).toBeNull();
    } finally {
      model.retire();
    }
  });

  it('takes the run from the announcement when the artifact names none, and monitors drift when it has a reference', async () => {
    const { registry, loader } = gateway;
    const bytes = artifact({
      metadata: encodeOnnxMetadata({
        labels: LABELS,
        featureNames: FEATURES,
        featureReference: FEATURES.map(() => fitPsiReference([1, 2, 3, 4, 5, 6, 7, 8], 4)),
      }),
    });
    const otherRun = '0f8e1d2c-3b4a-4596-8877-665544332211';
    const model = await loader.load(MODEL, { ...registry.add(5, bytes), runId: otherRun });
    try {
      expect(model.info).toMatchObject({ runId: otherRun, datasetVersion: null });
      expect(model.drift).not.toBeNull();
    } finally {
      model.retire();
    }
  });

  it('refuses bytes that do not match the expected SHA-256 before creating a session', async () => {
    const { registry, loader, sessions } = gateway;
    const source = registry.add(6);
    const served = artifact({ tag: 60 });
    registry.artifacts.set(source.sha256, served);
    await expect(loader.load(MODEL, source)).rejects.toThrow(
      `SHA-256 mismatch for version 6: expected ${source.sha256}, downloaded `,
    );
    expect(sessions.created).toHaveLength(0);
  });

  it('refuses an artifact whose metadata breaks the contract, naming the key', async () => {
    const { registry, loader, sessions } = gateway;
    const source = registry.add(
      7,
      artifact({ metadata: { feature_names: '["x","y"]', label_map: '"setosa"' } }),
    );
    await expect(loader.load(MODEL, source)).rejects.toThrow(/^version 7: the ONNX metadata 'label_map': /);
    expect(sessions.created).toHaveLength(0);
  });

  it("looks up the served model's champion: null when there is none, the registry's problem when it fails", async () => {
    const { registry, loader } = gateway;
    expect(await loader.champion(MODEL)).toBeNull();
    const source = registry.add(1);
    registry.promote(source);
    registry.promote(registry.add(2), 'Other');
    expect(await loader.champion(MODEL)).toEqual(source);
    registry.unreachable = true;
    await expect(loader.champion(MODEL)).rejects.toThrow(
      /^cannot look up the champion of IrisModel: registry: GET http:\/\/registry\.test failed/,
    );
  });
});
