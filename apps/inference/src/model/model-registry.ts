/** A model version to load: from the registry's champion alias or a model.promoted event. */
export interface ModelSource {
  version: number;
  sha256: string;
  artifactUrl: string;
  runId?: string | null;
}

/** The registry as the gateway sees it (port; HttpModelRegistry talks to the real one). */
export abstract class ModelRegistry {
  /** The version aliased `champion` of `modelName`, or null when the registry has none. */
  abstract champion(modelName: string): Promise<ModelSource | null>;

  /** The artifact's bytes as served (the caller verifies them against the expected SHA-256). */
  abstract download(artifactUrl: string): Promise<Uint8Array>;
}
