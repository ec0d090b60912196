import { Inject, Injectable } from '@nestjs/common';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { RegistryConfig, RegistryConfigValues } from '../registry.config';

/** An upload over REGISTRY_MAX_ARTIFACT_BYTES: 413, nothing stored. */
export class ArtifactTooLargeError extends Error {
  readonly statusCode = 413;
  constructor(
    readonly limit: number,
    what = 'the artifact',
    setting = 'REGISTRY_MAX_ARTIFACT_BYTES',
  ) {
    super(`${what} is larger than the limit of ${limit} bytes (${setting}); nothing was stored`);
  }
}

/** A size limit other than the artifacts' own (batch files): what is sent, its limit and the setting naming it. */
export interface SizeLimit {
  what: string;
  bytes: number;
  setting: string;
}

/** What an upload may take: its size, and how many run at once (REGISTRY_MAX_CONCURRENT_UPLOADS). */
export interface UploadLimits {
  maxBytes: number;
  maxConcurrent: number;
}

/** What a streamed upload turned out to be: its hash and size, and where it is stored when it was as stated. */
export interface ReceivedArtifact {
  sha256: string;
  size: number;
  /** Relative path in the store; undefined when the content did not hash to the stated SHA-256 (not stored). */
  path?: string;
}

/** Looks at a received upload (`read` gives its bytes) before it is stored; throws to refuse it. */
export type UploadCheck = (read: () => Promise<Buffer>) => Promise<void>;

/** Files named by the SHA-256 of their content under MODELS_DIR (`ab/abcdef…`); identical content is one file. */
@Injectable()
export class ArtifactStore {
  private readonly root: string;
  readonly limits: UploadLimits;

  constructor(@Inject(RegistryConfig) config: RegistryConfigValues) {
    this.root = resolve(config.MODELS_DIR);
    this.limits = {
      maxBytes: config.REGISTRY_MAX_ARTIFACT_BYTES,
      maxConcurrent: config.REGISTRY_MAX_CONCURRENT_UPLOADS,
    };
  }

  relativePath(sha256: string): string {
    return join(sha256.slice(0, 2), sha256);
  }

  async has(sha256: string): Promise<boolean> {
    return stat(join(this.root, this.relativePath(sha256))).then(
      (s) => s.isFile(),
      () => false,
    );
  }

  /**
   * Streams `content` to a temporary file while hashing it (never holding it in memory), at most `limits.maxBytes`
   * (ArtifactTooLargeError beyond); renames it into place when it hashes to `stated`, so a reader never sees a partial
   * artifact, and deletes it otherwise (`stated` null: whatever it hashes to is kept). `check` may read the complete file before it is put in place: what it
   * throws, the upload throws, and nothing is stored.
   */
  async receive(
    content: AsyncIterable<Buffer>,
    stated: string | null,
    check: UploadCheck = async () => undefined,
    limit?: SizeLimit,
  ): Promise<ReceivedArtifact> {
    await mkdir(this.root, { recursive: true });
    const temporary = join(this.root, `upload-${randomBytes(8).toString('hex')}.tmp`);
    const hash = createHash('sha256');
    let size = 0;
    const maxBytes = limit?.bytes ?? this.limits.maxBytes;
    const count = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        size += chunk.length;
        if (size > maxBytes) return done(new ArtifactTooLargeError(maxBytes, limit?.what, limit?.setting));
        hash.update(chunk);
        done(null, chunk);
      },
    });
    try {
      await pipeline(Readable.from(content), count, createWriteStream(temporary));
      const sha256 = hash.digest('hex');
      if ((stated !== null && sha256 !== stated) || size === 0) return { sha256, size };
      await check(() => readFile(temporary));
      const relative = this.relativePath(sha256);
      if (!(await this.has(sha256))) {
        await mkdir(join(this.root, sha256.slice(0, 2)), { recursive: true });
        await rename(temporary, join(this.root, relative));
      }
      return { sha256, size, path: relative };
    } finally {
      await rm(temporary, { force: true });
    }
  }

  open(relativePath: string): Readable {
    return createReadStream(join(this.root, relativePath));
  }
}
