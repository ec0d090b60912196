import type { TrafficSplit } from '@sepal/contracts';

/**
 * A model version to load, always as the registry answered it (its champion alias, one of its versions or its traffic
 * split), never as an event told it: the artifact is fetched from the registry by this SHA-256 and checked against it.
 */
export interface ModelSource {
  version: number;
  sha256: string;
  runId?: string | null;
  /** The version's registered metrics (its test figures, e.g. accuracy, macro_f1, rmse). */
  metrics?: Record<string, number>;
}

/** A registered model and the version its `champion` alias points to (null: none yet). */
export interface RegisteredModel {
  name: string;
  champion: number | null;
}

/** The registry as the gateway sees it (port; HttpModelRegistry talks to the real one). */
export abstract class ModelRegistry {
  /** Every registered model with its champion version. */
  abstract models(): Promise<RegisteredModel[]>;

  /** The version aliased `champion` of `modelName`, or null when the registry has none. */
  abstract champion(modelName: string): Promise<ModelSource | null>;

  /** One registered version, or null when the model or the version is unknown. */
  abstract version(modelName: string, version: number): Promise<ModelSource | null>;

  /** The model's traffic split, or null when it has none (all traffic to the champion). */
  abstract traffic(modelName: string): Promise<TrafficSplit | null>;

  /** The dataset a version was trained on (its lineage), or null when the registry does not know it. */
  abstract dataset(modelName: string, version: number): Promise<string | null>;

  /** The artifact of this SHA-256, from the registry (the caller verifies the bytes against it). */
  abstract download(sha256: string): Promise<Uint8Array>;
}
