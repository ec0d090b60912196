/** @jest-environment ./libs/ml/test/onnxruntime-environment.ts */
import { createHash } from 'node:crypto';
import { encodeOnnxMetadata, type EvaluationSetView } from '@sepal/contracts';
import { exportDenseClassifierToOnnx } from '@sepal/ml';
import type { SplitRows } from '../clients/data-client';
import { InMemoryRegistry, serviceError } from '../../test/support/fakes';
import { GateStep, type GateInput } from './gate.step';
import type { EvaluationSets } from './pipeline-ports';

const CHAMPION_DATA = 'a'.repeat(64);
const CANDIDATE_DATA = 'b'.repeat(64);

/** A one-feature classifier: `x > 0` is 'pos' (kernel [-1, 1]), or always 'neg' (kernel 0, bias on 'neg'). */
function classifier(kind: 'sign' | 'always-neg'): Uint8Array {
  return exportDenseClassifierToOnnx(
    {
      featureNames: ['x'],
      labels: ['neg', 'pos'],
      standardizer: { mean: [0], std: [1] },
      layers: [
        {
          inputs: 1,
          units: 2,
          activation: 'softmax',
          kernel: kind === 'sign' ? Float32Array.of(-1, 1) : Float32Array.of(0, 0),
          bias: kind === 'sign' ? Float32Array.of(0, 0) : Float32Array.of(1, 0),
        },
      ],
    },
    encodeOnnxMetadata({ featureNames: ['x'], labels: ['neg', 'pos'] }),
  );
}
const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** The frozen rows: 'sign' gets them all right, 'always-neg' half. */
const FROZEN: SplitRows = { features: [[-2], [-1], [1], [2]], labels: [0, 0, 1, 1] };

/** The data service's evaluation sets in memory: one set, frozen at the first version asked for. */
class FakeEvaluationSets implements EvaluationSets {
  readonly frozenAt: string[] = [];
  base: string | null = null;

  constructor(
    private readonly rows: SplitRows = FROZEN,
    /** Versions the dataset does not have (answered 422, as the data service does). */
    private readonly unknown: string[] = [],
  ) {}

  async evaluationSet(dataset: string, model: string, version: string): Promise<EvaluationSetView> {
    this.frozenAt.push(version);
    if (this.unknown.includes(version)) throw serviceError('data', 422, `no version ${version}`);
    this.base ??= version;
    return {
      model,
      dataset,
      baseVersion: this.base,
      seenSeq: 1,
      rows: this.rows.labels.length,
      frozenBy: 'trainer',
      frozenAt: new Date(0).toISOString(),
    };
  }

  async evaluationRows(): Promise<SplitRows> {
    return this.rows;
  }
}

async function registryWithChampion(kind: 'sign' | 'always-neg'): Promise<InMemoryRegistry> {
  const registry = new InMemoryRegistry();
  const bytes = classifier(kind);
  await registry.uploadArtifact(bytes, sha(bytes));
  await registry.registerVersion('Model', {
    runId: 'r1',
    sha256: sha(bytes),
    signature: { datasetVersion: CHAMPION_DATA },
    // Recorded on its own test split: what a poisoned split could make look worse than it is.
    metrics: { test_accuracy: 0.5 },
  });
  await registry.setAlias('Model', 'champion', { version: 1, reason: 'first' });
  return registry;
}

/** A candidate whose own (poisoned) test split says it is perfect. */
const candidate = (kind: 'sign' | 'always-neg', trigger: GateInput['trigger'] = 'feedback'): GateInput => ({
  modelName: 'Model',
  dataset: 'data',
  version: 2,
  testAccuracy: 1,
  datasetVersion: CANDIDATE_DATA,
  test: { features: [[5]], labels: [0] },
  candidateBytes: classifier(kind),
  trigger,
});

function gate(
  registry: InMemoryRegistry,
  sets: EvaluationSets,
  options: { policy?: 'automatic' | 'approval'; logs?: string[] } = {},
) {
  return new GateStep({
    registry,
    policy: { minImprovement: 0, minAccuracy: 0.4 },
    evaluationSets: sets,
    promotionPolicy: options.policy,
    log: (message) => options.logs?.push(message),
  });
}

describe('GateStep on the frozen evaluation set', () => {
  it("scores both on the model's frozen set, not on the candidate's test split: a poisoned retrain stays out", async () => {
    const sets = new FakeEvaluationSets();
    const step = gate(await registryWithChampion('sign'), sets);
    const outcome = await step.run(candidate('always-neg'));
    expect(outcome.decision).toMatchObject({ promote: false, alias: 'challenger' });
    expect(outcome.decision.reason).toMatch(
      /^does not beat the champion: test_accuracy 0.5000 vs champion v1 1.0000 .* on the frozen evaluation set \(4 rows, frozen at dataset version aaaaaaaaaaaa/,
    );
    // Frozen at the champion's dataset version (a champion from before sets), not the candidate's.
    expect(sets.frozenAt).toEqual([CHAMPION_DATA]);
    expect(step.summarize(outcome)).toMatchObject({
      evaluated_on: 'frozen-set',
      evaluation_rows: 4,
      evaluation_set_base: CHAMPION_DATA,
    });
  });

  it("freezes at the candidate's version when the champion's is not one of this dataset's", async () => {
    const sets = new FakeEvaluationSets(FROZEN, [CHAMPION_DATA]);
    const outcome = await gate(await registryWithChampion('sign'), sets).run(candidate('always-neg'));
    expect(sets.frozenAt).toEqual([CHAMPION_DATA, CANDIDATE_DATA]);
    expect(outcome.evaluation).toMatchObject({ on: 'frozen-set', baseVersion: CANDIDATE_DATA });
  });

  it('promotes a retrain that beats the champion on the frozen set (automatic, the default)', async () => {
    const outcome = await gate(await registryWithChampion('always-neg'), new FakeEvaluationSets()).run(
      candidate('sign'),
    );
    expect(outcome.decision).toMatchObject({ promote: true, alias: 'champion' });
    expect(outcome.decision.reason).toMatch(
      /^beats the champion: test_accuracy 1.0000 vs champion v1 0.5000/,
    );
  });

  it('under PROMOTION_POLICY=approval keeps a feedback or drift retrain that wins the challenger, saying how to approve', async () => {
    for (const trigger of ['feedback', 'drift'] as const) {
      const registry = await registryWithChampion('always-neg');
      const step = gate(registry, new FakeEvaluationSets(), { policy: 'approval' });
      const outcome = await step.run(candidate('sign', trigger));
      expect(outcome.decision).toMatchObject({ promote: false, alias: 'challenger' });
      expect(outcome.awaitingApproval).toBe(true);
      expect(outcome.decision.reason).toMatch(
        new RegExp(
          `^beats the champion: .*; awaiting approval \\(PROMOTION_POLICY=approval, a ${trigger} retrain\\): .*PUT /models/Model/aliases/champion \\{"version": 2\\}`,
        ),
      );
      expect(step.summarize(outcome)).toMatchObject({ awaiting_approval: true });
    }
  });

  it('under approval still promotes a manual job that wins, and a first version', async () => {
    const manual = await gate(await registryWithChampion('always-neg'), new FakeEvaluationSets(), {
      policy: 'approval',
    }).run(candidate('sign', 'manual'));
    expect(manual.decision.promote).toBe(true);
    const sets = new FakeEvaluationSets();
    const first = await gate(new InMemoryRegistry(), sets, { policy: 'approval' }).run(candidate('sign'));
    expect(first.decision).toMatchObject({ promote: true, alias: 'champion' });
    // The first promotion freezes the set at the candidate's version.
    expect(sets.frozenAt).toEqual([CANDIDATE_DATA]);
  });

  it('does not freeze a set for a first version that fails the floor', async () => {
    const sets = new FakeEvaluationSets();
    const step = new GateStep({
      registry: new InMemoryRegistry(),
      policy: { minImprovement: 0, minAccuracy: 0.9 },
      evaluationSets: sets,
      log: () => undefined,
    });
    const outcome = await step.run({ ...candidate('sign'), testAccuracy: 0.5 });
    expect(outcome.decision.promote).toBe(false);
    expect(sets.frozenAt).toEqual([]);
  });

  it('compares on the test split when the frozen set is empty, and says so', async () => {
    const logs: string[] = [];
    const sets = new FakeEvaluationSets({ features: [], labels: [] });
    const outcome = await gate(await registryWithChampion('sign'), sets, { logs }).run(candidate('sign'));
    expect(outcome.evaluation).toEqual({ on: 'test-split', rows: 1 });
    expect(logs).toEqual([
      expect.stringMatching(/frozen evaluation set of Model is empty; comparing on the test split/),
    ]);
  });
});
