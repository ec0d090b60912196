import { Injectable } from '@nestjs/common';
import { Readable } from 'node:stream';
import {
  ArtifactView,
  InvalidInputError,
  NotFoundError,
  TooManyRequestsError,
  UnprocessableError,
} from '@sepal/contracts';
import { OnnxValidationError } from '@sepal/ml';
import { Transaction } from '@sepal/persistence';
import { ArtifactRecord, ArtifactsRepository } from './artifacts.repository';
import { ArtifactStore } from './artifact-store.repository';
import { OnnxChecker } from './onnx-checker.service';

const SHA256 = /^[0-9a-f]{64}$/;

export const artifactPath = (sha256: string): string => `/artifacts/${sha256}`;

/**
 * Content-addressed artifacts: the uploader states the SHA-256, the registry checks it, then checks that the bytes are
 * an ONNX model a gateway may open (validateOnnxModel: it decodes, size, operator domains and opsets, no external
 * data, graph limits) before storing anything, and records which key uploaded it.
 */
@Injectable()
export class ArtifactsService {
  constructor(
    private readonly repository: ArtifactsRepository,
    private readonly store: ArtifactStore,
    private readonly checker: OnnxChecker,
  ) {}

  private uploading = 0;

  /**
   * Stores an upload (a stream, or bytes) whose SHA-256 the uploader states: streamed to disk while hashed, at most
   * REGISTRY_MAX_ARTIFACT_BYTES (413), at most REGISTRY_MAX_CONCURRENT_UPLOADS at once (429 before a byte is read).
   */
  async upload(
    content: unknown,
    statedSha256: string | undefined,
    uploadedBy: string,
  ): Promise<{ artifact: ArtifactView; created: boolean }> {
    const stream = Buffer.isBuffer(content) ? Readable.from([content]) : content;
    if (!(stream instanceof Readable)) {
      throw new InvalidInputError(
        'an artifact upload needs a non-empty body sent as Content-Type: application/octet-stream',
      );
    }
    const stated = statedSha256?.trim().toLowerCase();
    if (!stated || !SHA256.test(stated)) {
      throw new InvalidInputError(
        'the X-Content-SHA256 header must carry the hex SHA-256 of the body',
        'e.g. sha256sum model.onnx',
      );
    }
    const { maxConcurrent } = this.store.limits;
    if (this.uploading >= maxConcurrent) {
      throw new TooManyRequestsError(
        `${maxConcurrent} artifact uploads are already being received (REGISTRY_MAX_CONCURRENT_UPLOADS); retry shortly`,
      );
    }
    this.uploading += 1;
    let received;
    try {
      received = await this.store.receive(stream, stated, (read) => this.checkOnnx(read));
    } finally {
      this.uploading -= 1;
    }
    if (received.size === 0) {
      throw new InvalidInputError(
        'an artifact upload needs a non-empty body sent as Content-Type: application/octet-stream',
      );
    }
    if (!received.path) {
      throw new InvalidInputError(
        `SHA-256 mismatch: the header says ${stated}, the body hashes to ${received.sha256}; nothing was stored`,
        'The upload was corrupted or the wrong file was sent.',
      );
    }
    const { sha256, size, path } = received;
    const created = await this.repository.insert({ sha256, size, path, uploadedBy });
    const recorded = created ? uploadedBy : ((await this.repository.find(sha256))?.uploadedBy ?? null);
    return { artifact: { sha256, size, url: artifactPath(sha256), uploadedBy: recorded }, created };
  }

  /** 422 naming the problem when the file is not an ONNX model a gateway may open; nothing is stored then. */
  private async checkOnnx(read: () => Promise<Buffer>): Promise<void> {
    try {
      await this.checker.check(await read());
    } catch (error) {
      if (!(error instanceof OnnxValidationError)) throw error;
      throw new UnprocessableError(
        `the artifact is not an acceptable ONNX model: ${error.message}; nothing was stored`,
        'Upload the .onnx file the trainer exports (standard and ai.onnx.ml operators, every tensor inside the file).',
      );
    }
  }

  /** Pass the transaction when inside one (the embedded database has a single session). */
  async find(sha256: string, tx?: Transaction): Promise<ArtifactRecord | null> {
    return SHA256.test(sha256) ? this.repository.find(sha256, tx) : null;
  }

  async open(sha256: string): Promise<{ artifact: ArtifactRecord; stream: Readable }> {
    const artifact = await this.find(sha256);
    if (!artifact || !(await this.store.has(artifact.sha256)))
      throw new NotFoundError(`unknown artifact '${sha256}'`);
    return { artifact, stream: this.store.open(artifact.path) };
  }
}
