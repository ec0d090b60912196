import { NotFoundError } from '@sepal/contracts';
import { FakeGatesRepository } from '../../test/fakes/gates-fakes';
import { registryOnFakes } from '../../test/fakes/registry-fakes';
import type { ModelsRepository } from '../models/models.repository';
import type { GatesRepository } from './gates.repository';
import { GatesService } from './gates.service';

async function setup() {
  const fakes = registryOnFakes();
  await fakes.models.createModel({ name: 'wine' });
  const gates = new FakeGatesRepository();
  const service = new GatesService(
    gates as unknown as GatesRepository,
    fakes.modelsRepository as unknown as ModelsRepository,
    fakes.transactions,
  );
  return { service, gates };
}

describe('GatesService', () => {
  it("answers gate null (the trainer's task defaults) for a model that never set one", async () => {
    const { service } = await setup();
    expect(await service.get('wine')).toEqual({
      model: 'wine',
      gate: null,
      updatedAt: null,
      updatedBy: null,
    });
  });

  it('sets the gate with defaults for floor and margin, keeps every change with who and why', async () => {
    const { service } = await setup();
    const first = await service.set(
      'wine',
      {
        metric: 'test_accuracy',
        direction: 'up',
        floor: 0.5,
        margin: 0,
        reason: 'reachable floor',
      },
      'alice',
    );
    expect(first).toMatchObject({ gate: { metric: 'test_accuracy', floor: 0.5 }, updatedBy: 'alice' });
    await service.set('wine', { metric: 'test_rmse', direction: 'down', floor: null, margin: 0.02 }, 'bob');
    expect((await service.get('wine')).gate).toEqual({
      metric: 'test_rmse',
      direction: 'down',
      floor: null,
      margin: 0.02,
    });
    expect((await service.history('wine')).map((row) => [row.by, row.reason, row.gate.metric])).toEqual([
      ['alice', 'reachable floor', 'test_accuracy'],
      ['bob', '', 'test_rmse'],
    ]);
  });

  it('refuses an unknown model with 404, writing nothing', async () => {
    const { service, gates } = await setup();
    await expect(
      service.set('nope', { metric: 'test_rmse', direction: 'down', floor: null, margin: 0 }, 'bob'),
    ).rejects.toThrow(NotFoundError);
    await expect(service.get('nope')).rejects.toThrow(/unknown model 'nope'/);
    expect(gates.rows).toEqual([]);
  });
});
