import { randomUUID } from 'node:crypto';
import { fakeTransaction } from '@sepal/persistence';
import { registryOnFakes } from './registry-fakes';

/** The fakes' own checks, so a service spec that passes on them means what it says. */
describe('registry fakes', () => {
  it('roll back every store when the work throws, and keep what committed', async () => {
    const { transactions, runsRepository, inbox } = registryOnFakes();
    await transactions.run((tx) =>
      runsRepository.insertExperiment(tx, { id: randomUUID(), name: 'kept', tags: {} }),
    );
    await expect(
      transactions.run(async (tx) => {
        await inbox.claim(tx, 'm-1', 'c');
        await runsRepository.insertExperiment(tx, { id: randomUUID(), name: 'dropped', tags: {} });
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect([transactions.committed, transactions.rolledBack]).toEqual([1, 1]);
    expect(await runsRepository.findExperiment('kept')).not.toBeNull();
    expect(await runsRepository.findExperiment('dropped')).toBeNull();
    expect(await transactions.run((tx) => inbox.claim(tx, 'm-1', 'c'))).toBe(true);
  });

  it('refuse a write outside an open transaction, a read beside one and a nested one', async () => {
    const { transactions, runsRepository } = registryOnFakes();
    await expect(runsRepository.maxStep(fakeTransaction(), randomUUID())).rejects.toThrow(
      'a repository write outside an open transaction',
    );
    await expect(transactions.run(() => runsRepository.findRun(randomUUID()))).rejects.toThrow(
      'a read beside the open transaction',
    );
    await expect(transactions.run(() => transactions.run(async () => 1))).rejects.toThrow(
      'a transaction inside a transaction',
    );
  });
});
