import { createHash } from 'node:crypto';
import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportDenseClassifierToOnnx } from '@sepal/ml';

export const IRIS_FEATURES = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'];
export const IRIS_LABELS = ['Iris-setosa', 'Iris-versicolor', 'Iris-virginica'];

export const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/**
 * A small Iris-like classifier (one softmax layer on petal length) as ONNX bytes. `shift` moves the decision
 * boundaries, so two versions give different probabilities for the same row.
 */
export function irisOnnx(options: { shift?: number; modelName?: string; runId?: string } = {}): Uint8Array {
  const shift = options.shift ?? 0;
  const kernel = new Float32Array([
    // rows: features, columns: classes (setosa, versicolor, virginica)
    0, 0, 0, 0, 0, 0, -3, 0, 3, -1, 0, 1,
  ]);
  return exportDenseClassifierToOnnx(
    {
      featureNames: IRIS_FEATURES,
      labels: IRIS_LABELS,
      standardizer: { mean: [5.8, 3.0, 3.8, 1.2], std: [0.8, 0.4, 1.8, 0.8] },
      layers: [
        { kernel, bias: new Float32Array([shift, 1, -shift]), inputs: 4, units: 3, activation: 'softmax' },
      ],
    },
    {
      model_name: options.modelName ?? 'IrisModel',
      label_map: JSON.stringify(IRIS_LABELS),
      feature_names: JSON.stringify(IRIS_FEATURES),
      dataset_version: 'd'.repeat(64),
      run_id: options.runId ?? '3c1e6a8e-0d43-4a4b-9d0c-2f6f8d1e7b21',
    },
  );
}

export interface RegisteredVersion {
  version: number;
  sha256: string;
  artifactUrl: string;
  runId: string;
}

/**
 * Stands in for apps/registry (not available when these tests were written): exactly the two endpoints the gateway
 * reads, GET /models/:name/aliases/champion and GET /artifacts/:sha256 (with X-Content-SHA256).
 */
export class FakeRegistry {
  private server: Server | null = null;
  private readonly artifacts = new Map<string, Uint8Array>();
  private readonly versions = new Map<string, RegisteredVersion[]>();
  private readonly champions = new Map<string, number>();
  /** sha256 -> bytes served instead (to simulate a corrupted download). */
  readonly tampered = new Map<string, Uint8Array>();
  artifactRequests = 0;
  url = '';

  async start(): Promise<this> {
    this.server = createServer((request, response) => {
      const path = request.url ?? '';
      const champion = /^\/models\/([^/]+)\/aliases\/champion$/.exec(path);
      const artifact = /^\/artifacts\/([0-9a-f]{64})$/.exec(path);
      if (request.method === 'GET' && champion) {
        const name = decodeURIComponent(champion[1]);
        const version = this.versions.get(name)?.find((v) => v.version === this.champions.get(name));
        if (!version) {
          response.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"no champion"}');
          return;
        }
        response.writeHead(200, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            name,
            ...version,
            size: this.artifacts.get(version.sha256)?.length ?? 0,
            metrics: {},
            createdAt: new Date().toISOString(),
          }),
        );
        return;
      }
      if (request.method === 'GET' && artifact && this.artifacts.has(artifact[1])) {
        this.artifactRequests++;
        const bytes = this.tampered.get(artifact[1]) ?? this.artifacts.get(artifact[1])!;
        response
          .writeHead(200, { 'content-type': 'application/octet-stream', 'x-content-sha256': artifact[1] })
          .end(Buffer.from(bytes));
        return;
      }
      response.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"not found"}');
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  /** Stores the artifact and registers it as the next version of `name`. */
  register(name: string, bytes: Uint8Array): RegisteredVersion {
    const digest = sha256(bytes);
    this.artifacts.set(digest, bytes);
    const list = this.versions.get(name) ?? [];
    const version: RegisteredVersion = {
      version: list.length + 1,
      sha256: digest,
      artifactUrl: `${this.url}/artifacts/${digest}`,
      runId: `00000000-0000-4000-8000-${String(list.length + 1).padStart(12, '0')}`,
    };
    list.push(version);
    this.versions.set(name, list);
    return version;
  }

  setChampion(name: string, version: number): void {
    this.champions.set(name, version);
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
