import { Inject, Injectable } from '@nestjs/common';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { RegistryConfig, RegistryConfigValues } from '../registry.config';

export const sha256Of = (content: Buffer): string => createHash('sha256').update(content).digest('hex');

/** Files named by the SHA-256 of their content under MODELS_DIR (`ab/abcdef…`); identical content is one file. */
@Injectable()
export class ArtifactStore {
  private readonly root: string;

  constructor(@Inject(RegistryConfig) config: RegistryConfigValues) {
    this.root = resolve(config.MODELS_DIR);
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

  /** Writes through a temporary file and a rename, so a reader never sees a partial artifact. */
  async put(sha256: string, content: Buffer): Promise<string> {
    const relative = this.relativePath(sha256);
    const target = join(this.root, relative);
    if (await this.has(sha256)) return relative;
    await mkdir(join(this.root, sha256.slice(0, 2)), { recursive: true });
    const temporary = `${target}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      await writeFile(temporary, content);
      await rename(temporary, target);
    } finally {
      await rm(temporary, { force: true });
    }
    return relative;
  }

  open(relativePath: string): Readable {
    return createReadStream(join(this.root, relativePath));
  }
}
