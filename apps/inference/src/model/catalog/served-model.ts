import type { TrafficSplit } from '@sepal/contracts';
import type { ModelRequests } from '../../metrics/model-requests';
import type { ShadowTally } from '../../metrics/shadow-tally';
import type { LoadedModel, ModelInfo } from '../loading/loaded-model';
import { ModelHolder } from './model-holder';

export type ReloadOutcome =
  | { result: 'success'; model: ModelInfo; previous: ModelInfo | null }
  | { result: 'skipped'; reason: string; model: ModelInfo | null }
  | { result: 'failure'; reason: string; model: ModelInfo | null };

/** What a re-read of the registry did: to the champion, and to the traffic split (null: the model has none). */
export interface RegistryCheck {
  champion: ReloadOutcome;
  traffic: ReloadOutcome | null;
}

/** One version's share of a split: a request drawing r in [0, 100) goes to the first entry with r < upTo. */
export interface SplitEntry {
  version: number;
  upTo: number;
}

/**
 * Everything the gateway holds for one registered model: its champion (swapped atomically on promotion), the other
 * versions loaded for it (canary and shadow versions, which stay loaded while the split names them, and versions
 * loaded on demand, which the catalog may unload), its traffic split and its reload queue.
 */
export class ServedModel {
  readonly champion = new ModelHolder();
  /** Versions loaded besides the champion, by version. */
  readonly others = new Map<number, LoadedModel>();
  /** Versions loading on demand (so that concurrent requests share one load). */
  readonly loading = new Map<number, Promise<LoadedModel>>();
  /** Why no champion is served (503 reason); meaningful only while `champion.model` is null. */
  problem = 'no champion loaded yet';
  /** Reloads of this model run one at a time, in order. */
  queue: Promise<unknown> = Promise.resolve();
  /** A re-read of the registry queued and not started yet: events heard meanwhile share it (a flood costs one). */
  pendingRecheck: Promise<RegistryCheck> | null = null;
  /** Weighted versions (null: every request to the champion). */
  split: readonly SplitEntry[] | null = null;
  /** The split in force as the registry announced it. */
  traffic: TrafficSplit | null = null;
  /** A version scoring the same rows off the response path, and its agreement tally. */
  shadow: LoadedModel | null = null;
  shadowTally: ShadowTally | null = null;
  /** Versions that stay loaded while the split or the shadow names them. */
  pinned: ReadonlySet<number> = new Set();
  /** The dataset feedback for this model goes to (resolved when its champion loads). */
  dataset: string | null = null;

  constructor(
    readonly name: string,
    /** This model's request tally (sepal_model_requests_total, sepal_model_request_duration_seconds). */
    readonly requests: ModelRequests | null = null,
  ) {}

  /**
   * The version that serves one request, held for the caller (release() when done): by the split's weights when
   * there is one, else the champion; null while nothing is loaded. Constant time.
   */
  acquireServing(): LoadedModel | null {
    const split = this.split;
    if (split !== null) {
      const draw = Math.random() * 100;
      for (let i = 0; i < split.length; i++) {
        const entry = split[i];
        if (draw < entry.upTo) {
          const champion = this.champion.model;
          const model = champion?.info.version === entry.version ? champion : this.others.get(entry.version);
          if (model) return model.acquire();
          break;
        }
      }
    }
    return this.champion.acquire();
  }

  /** The loaded model of `version` (champion or other), not held. */
  loaded(version: number): LoadedModel | null {
    const champion = this.champion.model;
    if (champion?.info.version === version) return champion;
    return this.others.get(version) ?? null;
  }
}
