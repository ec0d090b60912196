import { BatchCoalescer } from './batch-coalescer';
import type { RunOutput } from './loaded-model';

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
});
