import { Logger } from '@nestjs/common';
import type { ModelPromoted } from '@sepal/contracts';
import type { ModelSource } from '../src/model/registry/model-registry';
import { fakeGateway, promoted } from './fakes';

export type FakeGateway = ReturnType<typeof fakeGateway>;

/** A time on the test day, `minutes` past noon UTC. */
export const at = (minutes: number): Date => new Date(Date.UTC(2025, 0, 1, 12, minutes));

/**
 * The ModelManager specs' setup: a fresh fake gateway for each test (logs silenced), shut down after it, and the
 * helpers the specs share. Call it at the top of a describe block; read `gateway` inside the tests.
 */
export function managerHarness() {
  const harness = {
    gateway: undefined as unknown as FakeGateway,
    /** The version of the default model's champion, or null. */
    served: (): number | null => harness.gateway.holder.model?.info.version ?? null,
    /** What a request is answered with now (the held model released at once). */
    servedInfo: () => {
      const held = harness.gateway.manager.requireModel();
      held.release();
      return held.info;
    },
    /** What the registry does on a promotion: moves the alias, then announces it. */
    promote: (source: ModelSource, when: Date, overrides: Partial<ModelPromoted> = {}) => {
      harness.gateway.registry.promote(source, overrides.modelName);
      return harness.gateway.manager.onPromoted(promoted(source, when, overrides));
    },
  };
  beforeEach(() => {
    for (const level of ['log', 'warn', 'error'] as const) {
      jest.spyOn(Logger.prototype, level).mockImplementation(() => undefined);
    }
    harness.gateway = fakeGateway();
  });
  afterEach(async () => {
    await harness.gateway.manager.onApplicationShutdown();
    jest.restoreAllMocks();
  });
  return harness;
}
