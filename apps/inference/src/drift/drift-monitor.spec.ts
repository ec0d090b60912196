import type { DriftDetected } from '@sepal/contracts';
import { createRng, fitPsiReference, psiAgainstReference } from '@sepal/ml';
import { DriftMonitor, DriftMonitorOptions } from './drift-monitor';

const FEATURES = ['a', 'b'];
const rng = createRng(7);
/** Training-like rows: a ~ U(0, 10), b ~ sum of three U(0, 1). */
const sampleRow = (shiftA = 0): [number, number] => [shiftA + rng() * 10, rng() + rng() + rng()];
const training = Array.from({ length: 2000 }, () => sampleRow());
const reference = FEATURES.map((_, j) =>
  fitPsiReference(
    training.map((row) => row[j]),
    10,
  ),
);

function rows(count: number, shiftA = 0): Float32Array {
  const data = new Float32Array(count * 2);
  for (let i = 0; i < count; i++) data.set(sampleRow(shiftA), i * 2);
  return data;
}

function monitor(overrides: Partial<DriftMonitorOptions> = {}) {
  const events: DriftDetected[] = [];
  let now = 1_000_000;
  const m = new DriftMonitor({
    model: 'IrisModel',
    version: 3,
    featureNames: FEATURES,
    reference,
    windowRows: 500,
    minRows: 100,
    threshold: 0.2,
    cooldownMs: 60_000,
    evalIntervalMs: 0,
    publish: async (event) => {
      events.push(event);
    },
    now: () => now,
    ...overrides,
  });
  return { m, events, advance: (ms: number) => (now += ms) };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('DriftMonitor', () => {
  it('reports nothing before the window holds the minimum rows', () => {
    const { m, events } = monitor();
    m.record(rows(99, 5), 99);
    expect(m.windowRows).toBe(99);
    expect(m.evaluate()).toBeNull();
    expect(m.current()).toBeNull();
    expect(events).toEqual([]);
  });

  it('finds stable input stable: small PSI on every feature and no event', async () => {
    const { m, events } = monitor();
    for (let i = 0; i < 10; i++) m.record(rows(50), 50);
    const psi = m.evaluate();
    expect(psi?.map((f) => f.name)).toEqual(FEATURES);
    for (const { psi: value } of psi ?? []) expect(value).toBeLessThan(0.1);
    await flush();
    expect(events).toEqual([]);
  });

  it('matches psiAgainstReference on the rows in the window', () => {
    const { m } = monitor({ windowRows: 200, minRows: 10 });
    const data = rows(300, 2);
    m.record(data, 300);
    expect(m.windowRows).toBe(200);
    const lastRows = Array.from(data.subarray(200)); // the most recent 200 rows survive
    const column = (j: number) => lastRows.filter((_, i) => i % 2 === j);
    const psi = m.evaluate()!;
    psi.forEach(({ psi: value }, j) =>
      expect(value).toBeCloseTo(psiAgainstReference(reference[j], column(j)), 10),
    );
  });

  it('shows each feature as reference and live bin shares with its PSI, without announcing drift', async () => {
    const { m, events } = monitor({ windowRows: 200, minRows: 10 });
    expect(m.view().features.map((f) => [f.live, f.psi])).toEqual([
      [null, null],
      [null, null],
    ]);
    const data = rows(200, 5);
    m.record(data, 200);
    const view = m.view();
    expect(view).toMatchObject({ windowRows: 200, windowSize: 200, minRows: 10, threshold: 0.2 });
    view.features.forEach((feature, j) => {
      expect(feature.name).toBe(FEATURES[j]);
      expect(feature.edges).toEqual(reference[j].edges);
      expect(feature.reference).toEqual(reference[j].proportions);
      expect(feature.live).toHaveLength(reference[j].proportions.length);
      expect(feature.live!.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 10);
      const column = Array.from(data).filter((_, i) => i % 2 === j);
      expect(feature.psi).toBeCloseTo(psiAgainstReference(reference[j], column), 10);
    });
    // a shifted by 5 on U(0, 10): half of the rows land in the top bin.
    expect(view.features[0].live!.at(-1)).toBeGreaterThan(0.4);
    await flush();
    expect(events).toEqual([]);
  });

  it('publishes one drift.detected for a shifted feature and respects the cooldown', async () => {
    const { m, events, advance } = monitor();
    m.record(rows(300, 6), 300);
    const psi = m.evaluate()!;
    expect(psi[0].psi).toBeGreaterThan(1);
    expect(psi[1].psi).toBeLessThan(0.2);
    await flush();
    expect(events).toEqual([
      {
        modelName: 'IrisModel',
        version: 3,
        features: [{ name: 'a', psi: psi[0].psi }],
        threshold: 0.2,
        detectedAt: new Date(1_000_000).toISOString(),
      },
    ]);

    m.record(rows(10, 6), 10);
    advance(59_000);
    m.evaluate();
    await flush();
    expect(events).toHaveLength(1);

    advance(1_000);
    m.evaluate();
    await flush();
    expect(events).toHaveLength(2);
  });

  it('tries again at the next evaluation when publishing fails', async () => {
    let fail = true;
    const errors: string[] = [];
    const sent: DriftDetected[] = [];
    const { m } = monitor({
      publish: async (event) => {
        if (fail) throw new Error('broker down');
        sent.push(event);
      },
      onPublishError: (error) => errors.push(error.message),
    });
    m.record(rows(200, 6), 200);
    m.evaluate();
    await flush();
    expect(errors).toEqual(['broker down']);
    fail = false;
    m.evaluate();
    await flush();
    expect(sent).toHaveLength(1);
  });

  it('shares the cooldown of a version between monitors (a reload of the same version)', async () => {
    const cooldowns = new Map<string, number>();
    const first = monitor({ cooldowns });
    first.m.record(rows(200, 6), 200);
    first.m.evaluate();
    const second = monitor({ cooldowns });
    second.m.record(rows(200, 6), 200);
    second.m.evaluate();
    const other = monitor({ cooldowns, version: 4 });
    other.m.record(rows(200, 6), 200);
    other.m.evaluate();
    await flush();
    expect([first.events.length, second.events.length, other.events.length]).toEqual([1, 0, 1]);
  });

  it('never publishes with threshold 0, but still computes the PSI', async () => {
    const { m, events } = monitor({ threshold: 0 });
    m.record(rows(200, 6), 200);
    expect(m.evaluate()![0].psi).toBeGreaterThan(1);
    await flush();
    expect(events).toEqual([]);
  });

  it('starts with an empty window for a new model version (one monitor per loaded model)', () => {
    const old = monitor();
    old.m.record(rows(300, 6), 300);
    expect(old.m.evaluate()).not.toBeNull();
    old.m.stop();
    const swapped = monitor({ version: 4 });
    expect(swapped.m.windowRows).toBe(0);
    expect(swapped.m.evaluate()).toBeNull();
  });

  it('keeps the most recent rows: stable traffic after a shift brings the PSI back down', () => {
    const { m } = monitor({ threshold: 0 });
    m.record(rows(500, 6), 500);
    expect(m.evaluate()![0].psi).toBeGreaterThan(1);
    for (let i = 0; i < 500; i++) m.record(rows(1), 1);
    expect(m.evaluate()![0].psi).toBeLessThan(0.1);
  });

  it('keeps a value equal to a reference edge in its training bin despite float32 rounding', () => {
    // 0.2 is not a float32: stored as 0.2000000030, above the float64 edge 0.2.
    const discrete = fitPsiReference([0.1, 0.1, 0.2, 0.2, 0.2, 0.2, 0.3, 0.3, 0.3, 0.3], 2);
    expect(discrete.edges).toEqual([0.2]);
    const { m } = monitor({ featureNames: ['x'], reference: [discrete], minRows: 1, threshold: 0 });
    m.record(new Float32Array([0.1, 0.1, 0.2, 0.2, 0.2, 0.2, 0.3, 0.3, 0.3, 0.3]), 10);
    expect(m.evaluate()![0].psi).toBe(0);
  });

  it('evaluates in an unref-ed interval once started, and stop() ends it and tells its owner', () => {
    jest.useFakeTimers();
    try {
      const stopped: DriftMonitor[] = [];
      const { m, events } = monitor({ evalIntervalMs: 5000, onStop: (x) => stopped.push(x) });
      m.start();
      m.record(rows(200, 6), 200);
      expect(m.current()).toBeNull();
      jest.advanceTimersByTime(5000);
      expect(m.current()![0].psi).toBeGreaterThan(1);
      expect(events).toHaveLength(1);
      m.stop();
      m.stop();
      expect(stopped).toEqual([m]);
      expect(jest.getTimerCount()).toBe(0);
    } finally {
      jest.useRealTimers();
    }
  });
});
