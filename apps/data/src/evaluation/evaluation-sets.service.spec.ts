import { NotFoundError, UnprocessableError } from '@sepal/contracts';
import { FakeTransactions, inMemoryAudit, InMemoryEvaluationStore, schema } from '../../test/fakes';
import { EvaluationSetsRepository } from './evaluation-sets.repository';
import { EvaluationSetsService } from './evaluation-sets.service';

const test = (origin: string) => ({ split: 'test' as const, origin });
const train = (origin: string) => ({ split: 'train' as const, origin });

function setup() {
  const store = new InMemoryEvaluationStore();
  const audit = inMemoryAudit();
  const service = new EvaluationSetsService(
    store as unknown as EvaluationSetsRepository,
    new FakeTransactions(),
    audit.service,
  );
  return { store, audit: audit.entries, service };
}

describe('EvaluationSetsService', () => {
  it('freezes the test rows of the version asked for, never a feedback row, and audits who froze it', async () => {
    const { store, audit, service } = setup();
    const v1 = store.addVersion('import', [test('import:1'), train('import:2'), test('import:3')]);
    // An old feedback row that a version from before the fix put in the test split.
    const v2 = store.addVersion('feedback', [test('feedback:old'), train('feedback:ok')]);
    const set = await service.freeze('data', 'M', v2.id, 'trainer');
    expect(set).toMatchObject({ model: 'M', baseVersion: v2.id, rows: 2, frozenBy: 'trainer', seenSeq: 2 });
    expect(store.origins('M')).toEqual(['import:1', 'import:3']);
    expect(audit).toEqual([
      { dataset: 'data', action: 'evaluation-set-frozen', version: v2.id, created: true, actor: 'trainer' },
    ]);
    expect(v1.seq).toBe(1);
  });

  it('is frozen once: a later call at another version changes nothing, and feedback versions never extend it', async () => {
    const { store, audit, service } = setup();
    const v1 = store.addVersion('import', [test('import:1'), train('import:2')]);
    await service.freeze('data', 'M', v1.id, 'trainer');
    const poisoned = store.addVersion('feedback', [test('feedback:a'), test('feedback:b')]);
    const again = await service.freeze('data', 'M', poisoned.id, 'attacker-trainer');
    expect(again).toMatchObject({ baseVersion: v1.id, rows: 1, frozenBy: 'trainer', seenSeq: 2 });
    expect(store.origins('M')).toEqual(['import:1']);
    expect(audit).toHaveLength(1);
  });

  it("is extended by an import's new test rows, audited with the importing key", async () => {
    const { store, audit, service } = setup();
    const v1 = store.addVersion('import', [test('import:1')]);
    await service.freeze('data', 'M', v1.id, 'trainer');
    store.addVersion('feedback', [train('feedback:a')]);
    const v3 = store.addVersion('import', [test('import:9'), train('import:8')]);
    store.importers.set(v3.id, 'loader');
    const set = await service.freeze('data', 'M', v1.id, 'trainer');
    expect(set).toMatchObject({ baseVersion: v1.id, rows: 2, seenSeq: 3 });
    expect(store.origins('M')).toEqual(['import:1', 'import:9']);
    expect(audit.at(-1)).toEqual({
      dataset: 'data',
      action: 'evaluation-set-extended',
      version: v3.id,
      created: true,
      actor: 'loader',
    });
  });

  it('is refrozen by an import under another base schema (its rows cannot be compared with the old ones)', async () => {
    const { store, service } = setup();
    const v1 = store.addVersion('import', [test('import:1')]);
    await service.freeze('data', 'M', v1.id, 'trainer');
    const v2 = store.addVersion(
      'import',
      [test('import:new1'), test('import:new2')],
      schema(['a', 'b', 'c']),
      true,
    );
    store.importers.set(v2.id, 'loader');
    const set = await service.freeze('data', 'M', v1.id, 'trainer');
    expect(set).toMatchObject({ baseVersion: v2.id, rows: 2, frozenBy: 'loader' });
    expect(store.origins('M')).toEqual(['import:new1', 'import:new2']);
  });

  it('serves its rows in pages by row id', async () => {
    const { store, service } = setup();
    const v1 = store.addVersion('import', [test('i:1'), test('i:2'), train('i:3'), test('i:4')]);
    await service.freeze('data', 'M', v1.id, 'trainer');
    const first = await service.rows('data', 'M', -1, 2);
    expect(first.labels).toHaveLength(2);
    expect(first.nextCursor).toBe(2);
    const second = await service.rows('data', 'M', first.nextCursor ?? -1, 2);
    expect(second).toMatchObject({ nextCursor: null, features: [[1, 3]] });
  });

  it('answers 404 for a set never frozen, and 422 for a version the dataset does not have', async () => {
    const { service } = setup();
    await expect(service.get('data', 'M')).rejects.toThrow(NotFoundError);
    await expect(service.rows('data', 'M', -1, 10)).rejects.toThrow(/no frozen evaluation set/);
    await expect(service.freeze('data', 'M', 'f'.repeat(64), 'trainer')).rejects.toThrow(UnprocessableError);
    await expect(service.freeze('nope', 'M', 'f'.repeat(64), 'trainer')).rejects.toThrow(NotFoundError);
  });
});
