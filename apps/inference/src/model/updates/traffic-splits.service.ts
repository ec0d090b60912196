import { Injectable, Logger } from '@nestjs/common';
import { TrafficSplit } from '@sepal/contracts';
import { InferenceMetrics } from '../../metrics/inference-metrics.service';
import { ChampionReloads } from './champion-reloads.service';
import { LoadedModel, ModelInfo } from '../loading/loaded-model';
import { LoadedVersions } from '../catalog/loaded-versions.service';
import { messageOf } from '../message-of';
import { ModelLoader } from '../loading/model-loader.service';
import { ModelRegistry } from '../registry/model-registry';
import { ReloadOutcome, ServedModel, SplitEntry } from '../catalog/served-model';

/**
 * A model's traffic split (canary weights and shadow) as the registry has it: every version it names is loaded
 * (verified and warmed) before the split switches in one assignment; a version that cannot load leaves the previous
 * split in force.
 */
@Injectable()
export class TrafficSplits {
  private readonly logger = new Logger('ModelManager');

  constructor(
    private readonly versions: LoadedVersions,
    private readonly reloads: ChampionReloads,
    private readonly loader: ModelLoader,
    private readonly registry: ModelRegistry,
    private readonly metrics: InferenceMetrics,
  ) {}

  /** Applies the registry's traffic split unless its revision is the one in force; null when the model has none. */
  async follow(entry: ServedModel): Promise<ReloadOutcome | null> {
    const current = entry.champion.model?.info ?? null;
    const split = await this.registry.traffic(entry.name).catch((error: Error) => error);
    if (split instanceof Error) {
      // Not a reload: the split in force stays, and the next event or sync asks again.
      const reason = `cannot look up the traffic split of ${entry.name}: ${split.message}`;
      this.logger.warn(reason);
      return { result: 'failure', reason, model: current };
    }
    if (split === null) return null;
    if (entry.traffic?.revision === split.revision) {
      return { result: 'skipped', reason: 'this traffic split is already in force', model: current };
    }
    return this.apply(entry, split);
  }

  /**
   * Applies a split read from the registry: loads every version it names (verified and warmed), then switches the
   * split in one assignment. A version that cannot load leaves the previous split in force.
   */
  private async apply(entry: ServedModel, split: TrafficSplit): Promise<ReloadOutcome> {
    const current = entry.champion.model?.info ?? null;
    const wanted = [...split.weights.filter((w) => w.weight > 0), ...(split.shadow ? [split.shadow] : [])];
    const fresh: LoadedModel[] = [];
    for (const version of wanted) {
      if (entry.loaded(version.version)) continue;
      try {
        const model = await this.loader.load(entry.name, version);
        fresh.push(model);
        entry.others.set(version.version, model);
      } catch (error) {
        for (const model of fresh) {
          entry.others.delete(model.info.version);
          model.retire();
        }
        return this.reloads.failed(
          entry,
          `traffic split of ${entry.name} not applied: cannot load v${version.version}: ${messageOf(error)}`,
        );
      }
    }
    const champion = entry.champion.model;
    let shadow: LoadedModel | null = split.shadow ? entry.loaded(split.shadow.version) : null;
    if (shadow && champion && shadow.signature.featureList !== champion.signature.featureList) {
      this.logger.warn(
        `${entry.name} v${shadow.info.version} takes other features than the champion (${shadow.signature.featureList}); it is not used as a shadow`,
      );
      shadow = null;
    }
    const onlyChampion =
      split.weights.filter((w) => w.weight > 0).length === 1 &&
      split.weights.find((w) => w.weight > 0)?.version === champion?.info.version;
    let upTo = 0;
    const entries: SplitEntry[] = [];
    for (const weight of split.weights) {
      if (weight.weight === 0) continue;
      upTo += weight.weight;
      entries.push({ version: weight.version, upTo });
    }
    const previouslyPinned = entry.pinned;
    entry.pinned = new Set(wanted.map((w) => w.version));
    entry.split = onlyChampion || entries.length === 0 ? null : entries;
    entry.traffic = split;
    if (entry.shadow !== shadow) {
      entry.shadow = shadow;
      entry.shadowTally = shadow ? this.metrics.shadowTally(entry.name, shadow.info.version) : null;
      if (!shadow) this.metrics.dropShadow(entry.name);
    }
    // Versions no longer named stay loaded, as on-demand versions the catalog may unload.
    for (const version of previouslyPinned)
      if (!entry.pinned.has(version)) this.versions.touch(entry, version);
    this.versions.evict();
    this.logger.log(
      `${entry.name} traffic: ${split.weights.map((w) => `v${w.version} ${w.weight}%`).join(', ')}` +
        (shadow ? `; shadow v${shadow.info.version}` : ''),
    );
    return {
      result: 'success',
      model: champion?.info ?? current ?? (shadow?.info as ModelInfo),
      previous: current,
    };
  }
}
