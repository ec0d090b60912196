import { InMemoryRegistry, serviceError } from '../../test/support/fakes';
import { GateStep, type GateInput } from './gate.step';

const SPLIT_A = 'a'.repeat(64);
const SPLIT_B = 'b'.repeat(64);
const candidate = (testAccuracy: number): GateInput => ({
  modelName: 'IrisModel',
  version: 2,
  testAccuracy,
  datasetVersion: SPLIT_B,
  test: { features: [[1, 2, 3, 4]], labels: [0] },
});

/** A registry whose champion v1 recorded `testAccuracy` on SPLIT_A and whose artifact cannot be downloaded. */
async function registryWithChampion(testAccuracy: number): Promise<InMemoryRegistry> {
  const registry = new InMemoryRegistry();
  await registry.registerVersion('IrisModel', {
    runId: 'r1',
    sha256: 'f'.repeat(64),
    signature: { datasetVersion: SPLIT_A },
    metrics: { test_accuracy: testAccuracy },
  });
  await registry.setAlias('IrisModel', 'champion', { version: 1, reason: 'first' });
  registry.failures.downloadArtifact = serviceError('registry', 404, 'artifact ffff: HTTP 404');
  return registry;
}

function gate(registry: InMemoryRegistry, logs: string[] = []) {
  return new GateStep({
    registry,
    policy: { minImprovement: 0, minAccuracy: 0.9 },
    log: (message) => logs.push(message),
  });
}

describe('GateStep', () => {
  it('makes the first version that clears the floor the champion', async () => {
    const outcome = await gate(new InMemoryRegistry()).run(candidate(0.95));
    expect(outcome).toEqual({
      decision: expect.objectContaining({ promote: true, alias: 'champion' }),
      championVersion: null,
      gate: { metric: 'test_accuracy', direction: 'up', floor: 0.9, margin: 0, source: 'default' },
      evaluation: { on: 'test-split', rows: 1 },
    });
    expect(outcome.decision.reason).toMatch(/^no champion yet/);
  });

  it('keeps a first version below the floor a challenger', async () => {
    const step = gate(new InMemoryRegistry());
    const outcome = await step.run(candidate(0.5));
    expect(outcome.decision).toMatchObject({ promote: false, alias: 'challenger' });
    expect(step.summarize(outcome)).toEqual({
      alias: 'challenger',
      champion_version: null,
      reason: 'test_accuracy 0.5000 is below the floor 0.9000',
      metric: 'test_accuracy',
      direction: 'up',
      gate: 'default',
      evaluated_on: 'test-split',
      evaluation_rows: 1,
    });
  });

  it("falls back on the champion's recorded metrics when its artifact cannot be had, and says so", async () => {
    const logs: string[] = [];
    const outcome = await gate(await registryWithChampion(0.97), logs).run(candidate(0.95));
    expect(outcome.championVersion).toBe(1);
    expect(outcome.decision).toMatchObject({ promote: false, alias: 'challenger' });
    expect(outcome.decision.reason).toMatch(/does not beat the champion: .* on recorded metrics/);
    expect(logs).toEqual([
      expect.stringMatching(
        /^champion v1 not re-evaluated \(registry: .* 404: artifact ffff: HTTP 404\); using its recorded/,
      ),
    ]);
  });

  it('promotes a version that beats the champion', async () => {
    const outcome = await gate(await registryWithChampion(0.9)).run(candidate(0.96));
    expect(outcome.decision).toMatchObject({ promote: true, alias: 'champion' });
    expect(outcome.decision.reason).toMatch(
      /^beats the champion: test_accuracy 0.9600 vs champion v1 0.9000/,
    );
  });

  it("decides on the model's own gate: a 0.5 floor lets a 0.56 classifier be promoted", async () => {
    const registry = new InMemoryRegistry();
    registry.gates.set('IrisModel', { metric: 'test_accuracy', direction: 'up', floor: 0.5, margin: 0 });
    const outcome = await gate(registry).run(candidate(0.56));
    expect(outcome.decision).toMatchObject({ promote: true, alias: 'champion' });
    expect(outcome.gate).toMatchObject({ floor: 0.5, source: 'model' });
  });

  it('gates a regressor on test_rmse down by default, and on a ceiling when its model sets one', async () => {
    const registry = await registryWithChampion(0);
    registry.versions[0].metrics = { test_rmse: 0.8 };
    const regressor = (rmse: number): GateInput => ({
      ...candidate(0),
      task: 'regression',
      metrics: { test_rmse: rmse, test_r2: 0.3 },
    });
    const better = await gate(registry).run(regressor(0.7));
    expect(better.decision).toMatchObject({ promote: true, alias: 'champion' });
    expect(better.decision.reason).toMatch(/^beats the champion: test_rmse 0.7000 vs champion v1 0.8000/);
    expect((await gate(registry).run(regressor(0.9))).decision.promote).toBe(false);

    registry.gates.set('IrisModel', { metric: 'test_rmse', direction: 'down', floor: 0.6, margin: 0 });
    const capped = await gate(registry).run(regressor(0.7));
    expect(capped.decision).toMatchObject({
      promote: false,
      reason: 'test_rmse 0.7000 is above the ceiling 0.6000',
    });
  });

  it('keeps a candidate whose run lacks the gate metric a challenger, naming the metric', async () => {
    const registry = new InMemoryRegistry();
    registry.gates.set('IrisModel', { metric: 'test_macro_f1', direction: 'up', floor: null, margin: 0 });
    const outcome = await gate(registry).run({ ...candidate(0.95), metrics: { test_accuracy: 0.95 } });
    expect(outcome.decision).toMatchObject({ promote: false });
    expect(outcome.decision.reason).toMatch(/recorded no test_macro_f1/);
  });
});
