import { InvalidInputError, NotFoundError, TrafficSplit, trafficSplitSchema } from '@sepal/contracts';
import type { OutboxRelay } from '@sepal/messaging';
import { fakeTransaction, Transaction, TransactionRunner } from '@sepal/persistence';
import { RegistryConfig } from '../registry.config';
import { TrafficRecord, TrafficRepository } from './traffic.repository';
import { TrafficService } from './traffic.service';

const SHA = (n: number) => String(n).repeat(64).slice(0, 64);

/** Splits, their audit and the outbox in memory; a failed transaction leaves them as they were. */
class FakeTrafficRepository implements Pick<TrafficRepository, keyof TrafficRepository> {
  models = new Map<string, Map<number, string>>([['iris', new Map([1, 2, 3].map((v) => [v, SHA(v)]))]]);
  splits = new Map<string, TrafficRecord>();
  audits: TrafficRecord[] = [];
  outbox: TrafficSplit[] = [];
  private clock = Date.parse('2026-01-01T00:00:00Z');

  async lockModel(_tx: Transaction, name: string) {
    return this.models.has(name);
  }
  async modelExists(name: string) {
    return this.models.has(name);
  }
  async versionDigests(name: string, versions: number[]) {
    const known = this.models.get(name) ?? new Map<number, string>();
    return new Map(versions.filter((v) => known.has(v)).map((v) => [v, known.get(v)!] as const));
  }
  async save(_tx: Transaction, split: Omit<TrafficRecord, 'changedAt' | 'revision'>) {
    const revision = (this.splits.get(split.modelName)?.revision ?? 0) + 1;
    const record = { ...split, changedAt: new Date((this.clock += 1000)).toISOString(), revision };
    this.splits.set(split.modelName, record);
    this.audits.push(record);
    return record;
  }
  async find(name: string) {
    return this.splits.get(name) ?? null;
  }
  async audit(name: string) {
    return this.audits.filter((a) => a.modelName === name);
  }
  async enqueueTraffic(_tx: Transaction, event: TrafficSplit) {
    this.outbox.push(trafficSplitSchema.parse(event));
  }
}

class SnapshotTransactions extends TransactionRunner {
  constructor(private readonly repository: FakeTrafficRepository) {
    super();
  }
  async run<T>(work: (tx: Transaction) => Promise<T>): Promise<T> {
    const before = {
      splits: new Map(this.repository.splits),
      audits: [...this.repository.audits],
      outbox: [...this.repository.outbox],
    };
    try {
      return await work(fakeTransaction());
    } catch (error) {
      Object.assign(this.repository, before);
      throw error;
    }
  }
}

function setup() {
  const repository = new FakeTrafficRepository();
  const flushes: number[] = [];
  const service = new TrafficService(
    RegistryConfig.load({ REGISTRY_PUBLIC_URL: 'http://registry.test' }),
    new SnapshotTransactions(repository),
    repository as unknown as TrafficRepository,
    { flush: async () => flushes.push(1) } as unknown as OutboxRelay,
  );
  return { repository, service, flushes };
}

describe('TrafficService', () => {
  it('stores a split, audits it and announces it through the outbox with what a gateway needs to load it', async () => {
    const { repository, service, flushes } = setup();
    const split = await service.set(
      'iris',
      {
        weights: { '2': 10, '1': 90 },
        shadow: 3,
        reason: 'canary',
      },
      'alice',
    );
    expect(split).toMatchObject({
      modelName: 'iris',
      weights: [
        { version: 1, weight: 90, sha256: SHA(1), artifactUrl: `http://registry.test/artifacts/${SHA(1)}` },
        { version: 2, weight: 10, sha256: SHA(2) },
      ],
      shadow: { version: 3, sha256: SHA(3) },
      reason: 'canary',
      changedBy: 'alice',
    });
    expect(repository.outbox).toEqual([split]);
    expect(repository.audits).toHaveLength(1);
    expect(flushes).toHaveLength(1);
    expect(await service.get('iris')).toEqual(split);
  });

  it('raises the revision with every change: gateways compare it, never an event time', async () => {
    const { service } = setup();
    const first = await service.set('iris', { weights: { '1': 100 } }, 'alice');
    const second = await service.set('iris', { weights: { '1': 50, '2': 50 } }, 'alice');
    expect([first.revision, second.revision]).toEqual([1, 2]);
    expect((await service.get('iris')).revision).toBe(2);
  });

  it('refuses an unknown model (404) and unknown versions (400 naming them), writing nothing', async () => {
    const { repository, service } = setup();
    await expect(service.set('wine', { weights: { '1': 100 } }, 'test')).rejects.toThrow(NotFoundError);
    await expect(service.set('iris', { weights: { '1': 90, '7': 10 } }, 'test')).rejects.toThrow(
      new InvalidInputError(`weights: model 'iris' has no version 7`),
    );
    await expect(service.set('iris', { weights: { '1': 100 }, shadow: 9 }, 'test')).rejects.toThrow(
      /^shadow: model 'iris' has no version 9$/,
    );
    await expect(service.set('iris', { weights: { '1': 90, '2': 10 }, shadow: 2 }, 'test')).rejects.toThrow(
      /^shadow: v2 already takes 10% of the traffic$/,
    );
    expect(repository.outbox).toEqual([]);
    expect(repository.audits).toEqual([]);
  });

  it('answers 404 for a model without a split, naming what happens instead', async () => {
    const { service } = setup();
    await expect(service.get('iris')).rejects.toThrow(
      /has no traffic split: all its requests go to the champion/,
    );
    await expect(service.get('wine')).rejects.toThrow(/unknown model 'wine'/);
    await expect(service.audit('wine')).rejects.toThrow(NotFoundError);
  });
});
