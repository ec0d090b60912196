import { FakeSession } from '../../test/fakes';
import { LoadedModel, type ModelInfo, type RunObserver } from '../model/loading/loaded-model';
import type { OnnxSession } from '../model/loading/onnx-sessions.service';
import { createSignature } from '../predict/model-signature';
import { MODEL_INDEX_INPUT, ModelStack } from './model-stack';

type Feeds = Parameters<OnnxSession['run']>[0];

/**
 * A stacked session over 2-feature rows and 3 classes: each row's class is its model index (probability 0.9), so an
 * answer shows which member scored it. `runs` records each run's model indexes; `failure` makes runs throw.
 */
class FakeStackedSession implements OnnxSession {
  runs: number[][] = [];
  failure: Error | null = null;
  released = false;

  async run(feeds: Feeds): ReturnType<OnnxSession['run']> {
    if (this.failure) throw this.failure;
    const index = (feeds[MODEL_INDEX_INPUT] as unknown as { data: BigInt64Array }).data;
    this.runs.push([...index].map(Number));
    const probabilities = new Float32Array(index.length * 3).fill(0.05);
    index.forEach((m, row) => (probabilities[row * 3 + Number(m)] = 0.9));
    return {
      probabilities: { data: probabilities },
      label: { data: BigInt64Array.from(index) },
    } as unknown as Awaited<ReturnType<OnnxSession['run']>>;
  }

  async release(): Promise<void> {
    this.released = true;
  }
}

const observer: RunObserver & { runs: { model: string; rows: number }[] } = {
  runs: [],
  onRun(_seconds, rows, info) {
    this.runs.push({ model: info.name, rows });
  },
  tally: () => ({ add: () => undefined }),
  dropTally: () => undefined,
};

function member(name: string): { model: LoadedModel; session: FakeSession } {
  const session = new FakeSession(3);
  const info: ModelInfo = {
    name,
    version: 1,
    sha256: name,
    runId: null,
    datasetVersion: null,
    size: 1,
    loadedAt: '',
  };
  const model = new LoadedModel(
    session,
    info,
    createSignature(['a', 'b'], ['x', 'y', 'z']),
    observer,
    { coalesce: true, windowUs: 0, maxRows: 1000 },
    null,
    { key: 'k', bytes: new Uint8Array(0) },
  );
  return { model, session };
}

function stackOf(count: number) {
  const members = Array.from({ length: count }, (_, i) => member(`m${i}`));
  const session = new FakeStackedSession();
  const failures: unknown[] = [];
  const stack = new ModelStack(
    session,
    members.map((m) => m.model),
    2,
    observer,
    { windowUs: 0, maxRows: 1000 },
    (error) => failures.push(error),
  );
  for (const m of members) m.model.useStack(stack);
  return { members, session, stack, failures };
}

const row = (first: number) => Float32Array.of(first, 0);

describe('ModelStack', () => {
  beforeEach(() => (observer.runs = []));

  it("scores the requests of several members in one stacked run, each row with its own member's weights", async () => {
    const { members, session } = stackOf(3);
    // The first request runs at once (alone: its own session); the next three wait for it and share one run.
    const first = members[0].model.infer(row(1), 1);
    const shared = [
      members[2].model.infer(row(1), 1),
      members[1].model.infer(Float32Array.of(1, 0, 1, 0), 2),
      members[0].model.infer(row(1), 1),
    ];
    expect((await first).labels).toEqual(Int32Array.of(1));
    const answers = await Promise.all(shared);
    expect(session.runs).toEqual([[2, 1, 1, 0]]);
    expect(answers.map((a) => [...a.labels])).toEqual([[2], [1, 1], [0]]);
    expect([...answers[1].probabilities].map((p) => Math.round(p * 100))).toEqual([5, 90, 5, 5, 90, 5]);
    expect(observer.runs).toEqual([
      { model: 'm0', rows: 1 },
      { model: 'm2', rows: 1 },
      { model: 'm1', rows: 2 },
      { model: 'm0', rows: 1 },
    ]);
  });

  it("runs a batch of one member's rows on that member's own session", async () => {
    const { members, session } = stackOf(2);
    await Promise.all([members[1].model.infer(row(2), 1), members[1].model.infer(row(2), 1)]);
    expect(session.runs).toEqual([]);
    expect(members[1].session.runs).toEqual([1, 1]);
  });

  it("answers from the members' own sessions when a stacked run fails, and says so once", async () => {
    const { members, session, failures } = stackOf(2);
    session.failure = new Error('stacked run broke');
    const first = members[0].model.infer(row(0), 1);
    const rest = [members[0].model.infer(row(1), 1), members[1].model.infer(row(2), 1)];
    const again = [members[1].model.infer(row(1), 1), members[0].model.infer(row(2), 1)];
    await first;
    const answers = await Promise.all([...rest, ...again]);
    // FakeSession's class is round(first feature) mod 3: the members' own answers.
    expect(answers.map((a) => a.labels[0])).toEqual([1, 2, 1, 2]);
    expect(failures).toHaveLength(1);
  });

  it('is left by a retired member, and releases its session only once idle', async () => {
    const { members, session, stack } = stackOf(2);
    members[0].model.retire();
    expect(members[0].model.stackedIn).toBeNull();
    expect(members[1].model.stackedIn).toBe(stack);
    members[0].model.useStack(stack);
    expect(members[0].model.stackedIn).toBeNull();
    members[1].session.gate = new Promise(() => undefined);
    void members[1].model.infer(row(1), 1);
    const released = stack.release();
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(session.released).toBe(false);
    expect(stack.idle).toBe(false);
    void released;
  });
});
