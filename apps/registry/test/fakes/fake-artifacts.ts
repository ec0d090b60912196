/** Artifact records and the content-addressed file store in memory, for ArtifactsService specs. */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { Transaction } from '@sepal/persistence';
import { ArtifactRecord, ArtifactsRepository, NewArtifact } from '../../src/artifacts/artifacts.repository';
import {
  ArtifactStore,
  ArtifactTooLargeError,
  ReceivedArtifact,
  UploadCheck,
} from '../../src/artifacts/artifact-store.repository';
import { FakeTransactions, PublicOf, TransactionalStore } from './fake-transactions';

export class FakeArtifactsRepository
  extends TransactionalStore<{ artifacts: ArtifactRecord[] }>
  implements PublicOf<ArtifactsRepository>
{
  constructor(transactions: FakeTransactions) {
    super({ artifacts: [] }, transactions);
  }

  async insert(artifact: NewArtifact): Promise<boolean> {
    this.transactions.read(undefined);
    if (this.state.artifacts.some((a) => a.sha256 === artifact.sha256)) return false;
    this.state.artifacts.push({ ...artifact, createdAt: new Date() });
    return true;
  }

  async find(sha256: string, tx?: Transaction): Promise<ArtifactRecord | null> {
    this.transactions.read(tx);
    return this.state.artifacts.find((a) => a.sha256 === sha256) ?? null;
  }
}

/** The content-addressed file store in memory (files are not transactional, so no rollback). */
export class FakeArtifactStore implements PublicOf<ArtifactStore> {
  readonly files = new Map<string, Buffer>();

  relativePath(sha256: string): string {
    return `${sha256.slice(0, 2)}/${sha256}`;
  }

  async has(sha256: string): Promise<boolean> {
    return this.files.has(this.relativePath(sha256));
  }

  readonly limits = { maxBytes: 1024 * 1024, maxConcurrent: 2 };

  async receive(
    content: AsyncIterable<Buffer>,
    stated: string,
    check: UploadCheck = async () => undefined,
  ): Promise<ReceivedArtifact> {
    const chunks: Buffer[] = [];
    for await (const chunk of content) chunks.push(chunk);
    const bytes = Buffer.concat(chunks);
    if (bytes.length > this.limits.maxBytes) throw new ArtifactTooLargeError(this.limits.maxBytes);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    if (sha256 !== stated || bytes.length === 0) return { sha256, size: bytes.length };
    await check(async () => bytes);
    const path = this.relativePath(sha256);
    if (!this.files.has(path)) this.files.set(path, bytes);
    return { sha256, size: bytes.length, path };
  }

  open(relativePath: string): Readable {
    const content = this.files.get(relativePath);
    if (!content) throw new Error(`ENOENT: ${relativePath}`);
    return Readable.from([content]);
  }
}
