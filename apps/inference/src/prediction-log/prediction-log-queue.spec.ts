import { BoundedRowQueue } from './prediction-log-queue';

const batch = (rows: number, id = 0) => ({ rows, id });

describe('BoundedRowQueue', () => {
  it('refuses what does not fit, counts the dropped rows and never grows past its capacity', () => {
    const queue = new BoundedRowQueue<{ rows: number; id: number }>(10);
    expect(queue.offer(batch(4, 1))).toBe(true);
    expect(queue.offer(batch(6, 2))).toBe(true);
    expect(queue.offer(batch(1, 3))).toBe(false);
    expect(queue.offer(batch(3, 4))).toBe(false);
    expect(queue.size).toBe(10);
    expect(queue.dropped).toBe(4);
    // Room again once taken: the queue keeps working after a full spell.
    expect(queue.take(5).map((item) => item.id)).toEqual([1]);
    expect(queue.offer(batch(4, 5))).toBe(true);
    expect(queue.take(100).map((item) => item.id)).toEqual([2, 5]);
    expect(queue.size).toBe(0);
  });

  it('takes whole items up to the row limit, at least one', () => {
    const queue = new BoundedRowQueue<{ rows: number; id: number }>(200);
    queue.offer(batch(30, 1));
    queue.offer(batch(30, 2));
    queue.offer(batch(50, 3));
    expect(queue.take(70).map((item) => item.id)).toEqual([1, 2]);
    expect(queue.take(10).map((item) => item.id)).toEqual([3]);
    expect(queue.take(10)).toEqual([]);
  });

  it('counts rows lost after they left the queue', () => {
    const queue = new BoundedRowQueue<{ rows: number }>(10);
    queue.offer(batch(3));
    queue.lost(queue.take(10).reduce((sum, item) => sum + item.rows, 0));
    expect(queue.dropped).toBe(3);
  });

  it('offers in constant time when full (never blocks): a million refusals run in well under a second (printed)', () => {
    const queue = new BoundedRowQueue<{ rows: number }>(1);
    queue.offer(batch(1));
    const started = performance.now();
    for (let i = 0; i < 1_000_000; i++) queue.offer(batch(1));
    console.log(`1,000,000 refused offers: ${(performance.now() - started).toFixed(1)} ms`);
    expect(queue.dropped).toBe(1_000_000);
    expect(queue.size).toBe(1);
  });
});
