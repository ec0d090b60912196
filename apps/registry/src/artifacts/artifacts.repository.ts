import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { Int8, managerOf, queryRows, Transaction } from '@sepal/persistence';

export interface ArtifactRecord {
  sha256: string;
  size: number;
  path: string;
  createdAt: Date;
  /** The key that uploaded it (null before uploads were recorded). */
  uploadedBy: string | null;
}

/** An artifact to record: its digest, size, path in the store and the key that uploaded it. */
export type NewArtifact = Pick<ArtifactRecord, 'sha256' | 'size' | 'path'> & { uploadedBy: string };

/** A row of registry.artifacts (sha256 is char(64), blank-padded). */
interface ArtifactRow {
  sha256: string;
  size: Int8;
  path: string;
  created_at: Date;
  uploaded_by: string | null;
}

const toArtifact = (r: ArtifactRow): ArtifactRecord => ({
  sha256: String(r.sha256).trim(),
  size: Number(r.size),
  path: r.path,
  createdAt: new Date(r.created_at),
  uploadedBy: r.uploaded_by ?? null,
});

@Injectable()
export class ArtifactsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  private manager(tx?: Transaction): EntityManager {
    return managerOf(tx, this.dataSource);
  }

  /** Records an artifact; false if it was already recorded. */
  async insert(artifact: NewArtifact): Promise<boolean> {
    const rows: unknown[] = await this.dataSource.query(
      `INSERT INTO registry.artifacts (sha256, size, path, uploaded_by) VALUES ($1, $2, $3, $4)
       ON CONFLICT (sha256) DO NOTHING RETURNING sha256`,
      [artifact.sha256, artifact.size, artifact.path, artifact.uploadedBy],
    );
    return rows.length === 1;
  }

  async find(sha256: string, tx?: Transaction): Promise<ArtifactRecord | null> {
    const rows = await queryRows<ArtifactRow>(
      this.manager(tx),
      `SELECT * FROM registry.artifacts WHERE sha256 = $1`,
      [sha256],
    );
    return rows.length ? toArtifact(rows[0]) : null;
  }
}
