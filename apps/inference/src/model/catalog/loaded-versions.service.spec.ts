import { fakeGateway, MODEL, promoted } from '../../../test/fakes';
import { at, managerHarness } from '../../../test/manager-harness';

describe('LoadedVersions', () => {
  // Logs silenced; this spec builds its own gateway with a smaller MAX_LOADED_MODELS.
  managerHarness();

  it('unloads the least recently used on-demand version beyond MAX_LOADED_MODELS, never a champion', async () => {
    const small = fakeGateway({ MAX_LOADED_MODELS: '3' });
    try {
      const { registry, manager } = small;
      const sources = [1, 2, 3, 4].map((v) => registry.add(v));
      registry.promote(sources[0]);
      await manager.onPromoted(promoted(sources[0], at(1)));
      for (const version of [2, 3]) (await manager.requireVersion(MODEL, version)).release();
      (await manager.requireVersion(MODEL, 2)).release(); // v3 is now the least recently used
      (await manager.requireVersion(MODEL, 4)).release();
      const entry = manager.find(MODEL);
      expect([...entry.others.keys()].sort()).toEqual([2, 4]);
      expect(entry.champion.model?.info.version).toBe(1);
      await expect(manager.requireVersion(MODEL, 9)).rejects.toThrow(/model 'IrisModel' has no version 9/);
    } finally {
      await small.manager.onApplicationShutdown();
    }
  });
});
