import { BatchCoalescer, RunRound } from './batch-coalescer';
import type { RunOutput } from './run-output';

/** A fake ONNX run over width-1 rows: probability = the input value, label = its row index in the run. */
function recordingRun() {
  const calls: number[][] = [];
  let finish: (() => void)[] = [];
  const run = (data: Float32Array, rows: number): Promise<RunOutput> => {
    calls.push([...data]);
    return new Promise((resolve) => {
      finish.push(() =>
        resolve({
          probabilities: Float32Array.from(data),
          labels: Int32Array.from({ length: rows }, (_, i) => i),
        }),
      );
    });
  };
  const completeAll = () => {
    const pending = finish;
    finish = [];
    pending.forEach((done) => done());
  };
  return { calls, run, completeAll };
}

const flushPromises = () => new Promise((resolve) => setImmediate(resolve));

describe('BatchCoalescer', () => {
  it('runs a request reaching an idle model at once, alone', async () => {
    const fake = recordingRun();
    const coalescer = new BatchCoalescer(1, fake.run, { windowUs: 0, maxRows: 100 });
    const answer = coalescer.submit(Float32Array.of(7), 1);
    expect(fake.calls).toEqual([[7]]);
    fake.completeAll();
    expect([...(await answer).probabilities]).toEqual([7]);
  });

  it('batches the requests that arrive during a run into the next run and gives each its own slice', async () => {
    const fake = recordingRun();
    const coalescer = new BatchCoalescer(1, fake.run, { windowUs: 0, maxRows: 100 });
    const first = coalescer.submit(Float32Array.of(1), 1);
    const second = coalescer.submit(Float32Array.of(2, 3), 2);
    const third = coalescer.submit(Float32Array.of(4), 1);
    expect(fake.calls).toEqual([[1]]);
    fake.completeAll();
    await flushPromises();
    expect(fake.calls).toEqual([[1], [2, 3, 4]]);
    fake.completeAll();
    expect([...(await first).probabilities]).toEqual([1]);
    expect([...(await second).probabilities]).toEqual([2, 3]);
    expect([...(await third).probabilities]).toEqual([4]);
    expect([...(await third).labels]).toEqual([2]);
  });

  it("gives each request of a regressor its own rows' values", async () => {
    // A regressor's run: no classes, one value per row (twice the input here).
    const run = async (data: Float32Array): Promise<RunOutput> => ({
      probabilities: new Float32Array(0),
      labels: new Int32Array(0),
      values: data.map((x) => x * 2),
    });
    const coalescer = new BatchCoalescer(1, run, { windowUs: 0, maxRows: 100 });
    const first = coalescer.submit(Float32Array.of(1), 1);
    const rest = [coalescer.submit(Float32Array.of(2, 3), 2), coalescer.submit(Float32Array.of(4), 1)];
    expect([...(await first).values!]).toEqual([2]);
    const [second, third] = await Promise.all(rest);
    expect([...second.values!]).toEqual([4, 6]);
    expect([...third.values!]).toEqual([8]);
    expect(second.probabilities).toHaveLength(0);
  });

  it('with a window, waits for company before the first run', async () => {
    const fake = recordingRun();
    const coalescer = new BatchCoalescer(1, fake.run, { windowUs: 500, maxRows: 100 });
    const answers = [coalescer.submit(Float32Array.of(1), 1), coalescer.submit(Float32Array.of(2), 1)];
    expect(fake.calls).toEqual([]);
    await flushPromises();
    expect(fake.calls).toEqual([[1, 2]]);
    fake.completeAll();
    await Promise.all(answers);
  });

  it('rejects every request of a batch whose run fails', async () => {
    let calls = 0;
    const coalescer = new BatchCoalescer(
      1,
      async () => {
        calls += 1;
        if (calls > 1) throw new Error('session released');
        return { probabilities: Float32Array.of(0), labels: Int32Array.of(0) };
      },
      { windowUs: 0, maxRows: 100 },
    );
    const ok = coalescer.submit(Float32Array.of(1), 1);
    const failing = [coalescer.submit(Float32Array.of(2), 1), coalescer.submit(Float32Array.of(3), 1)];
    await ok;
    await expect(failing[0]).rejects.toThrow('session released');
    await expect(failing[1]).rejects.toThrow('session released');
  });

  describe('with other models in one round', () => {
    /** A fake run per model whose completion the test controls, one call at a time. */
    function controlledRun() {
      const finish: ((ok: boolean) => void)[] = [];
      const run = (data: Float32Array, rows: number): Promise<RunOutput> =>
        new Promise((resolve, reject) => {
          finish.push((ok) =>
            ok
              ? resolve({ probabilities: Float32Array.from(data), labels: new Int32Array(rows) })
              : reject(new Error('run failed')),
          );
        });
      return { run, complete: (ok = true) => finish.shift()!(ok) };
    }
    const options = { windowUs: 0, maxRows: 100 };
    const settledFlags = (answers: Promise<unknown>[]) => {
      const flags = answers.map(() => false);
      answers.forEach(
        (answer, i) =>
          void answer.then(
            () => (flags[i] = true),
            () => (flags[i] = true),
          ),
      );
      return flags;
    };

    it('answers the runs that were in flight together only once the last of them is done', async () => {
      const round = new RunRound();
      const a = controlledRun();
      const b = controlledRun();
      const first = new BatchCoalescer(1, a.run, options, round);
      const second = new BatchCoalescer(1, b.run, options, round);
      const done = settledFlags([first.submit(Float32Array.of(1), 1), second.submit(Float32Array.of(2), 1)]);
      a.complete();
      await flushPromises();
      expect(done).toEqual([false, false]);
      b.complete();
      await flushPromises();
      expect(done).toEqual([true, true]);
    });

    it('does not hold a group for a run started after its first completion', async () => {
      const round = new RunRound();
      const a = controlledRun();
      const b = controlledRun();
      const c = controlledRun();
      const answers = [
        new BatchCoalescer(1, a.run, options, round).submit(Float32Array.of(1), 1),
        new BatchCoalescer(1, b.run, options, round).submit(Float32Array.of(2), 1),
      ];
      a.complete();
      await flushPromises();
      const late = new BatchCoalescer(1, c.run, options, round).submit(Float32Array.of(3), 1);
      const done = settledFlags([...answers, late]);
      b.complete();
      await flushPromises();
      expect(done).toEqual([true, true, false]);
      c.complete();
      await flushPromises();
      expect(done).toEqual([true, true, true]);
    });

    it('rejects only the requests of the run that failed', async () => {
      const round = new RunRound();
      const a = controlledRun();
      const b = controlledRun();
      const ok = new BatchCoalescer(1, a.run, options, round).submit(Float32Array.of(1), 1);
      const failing = new BatchCoalescer(1, b.run, options, round).submit(Float32Array.of(2), 1);
      b.complete(false);
      a.complete();
      await expect(failing).rejects.toThrow('run failed');
      expect([...(await ok).probabilities]).toEqual([1]);
    });
  });
});
