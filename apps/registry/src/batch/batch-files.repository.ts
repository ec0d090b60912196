import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Int8, managerOf, queryRows, Transaction } from '@sepal/persistence';
import { iso } from '../paging';

/** A CSV of a batch job (an upload or an output) in the content-addressed store. */
export interface BatchFile {
  sha256: string;
  size: number;
  path: string;
}

/** The registered output of a job's attempt. */
export interface BatchOutputRecord {
  jobId: string;
  attempt: number;
  sha256: string;
  size: number;
  rows: number;
  errorRows: number;
  path: string;
  createdAt: string;
}

/** A row of registry.batch_files as read (sha256 is char(64), blank-padded). */
interface FileRow {
  sha256: string;
  size: Int8;
  path: string;
}

/** A row of registry.batch_outputs with its file's path. */
interface OutputRow extends FileRow {
  job_id: string;
  attempt: number;
  rows: Int8;
  error_rows: Int8;
  created_at: Date;
}

/** Every SQL statement about batch files and outputs (the job records are the jobs repository's). */
@Injectable()
export class BatchFilesRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async recordFile(tx: Transaction | undefined, file: BatchFile, uploadedBy: string): Promise<void> {
    await managerOf(tx, this.dataSource).query(
      `INSERT INTO registry.batch_files (sha256, size, path, uploaded_by) VALUES ($1, $2, $3, $4)
       ON CONFLICT (sha256) DO NOTHING`,
      [file.sha256, file.size, file.path, uploadedBy],
    );
  }

  async findFile(sha256: string): Promise<BatchFile | null> {
    const rows = await queryRows<FileRow>(
      this.dataSource,
      `SELECT sha256, size, path FROM registry.batch_files WHERE sha256 = $1`,
      [sha256],
    );
    return rows[0]
      ? { sha256: String(rows[0].sha256).trim(), size: Number(rows[0].size), path: rows[0].path }
      : null;
  }

  /** Registers (or replaces, for a redelivered attempt) the complete output of a job's attempt. */
  async recordOutput(tx: Transaction, output: Omit<BatchOutputRecord, 'path' | 'createdAt'>): Promise<void> {
    await managerOf(tx, this.dataSource).query(
      `INSERT INTO registry.batch_outputs (job_id, attempt, sha256, size, rows, error_rows)
       VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (job_id, attempt) DO UPDATE SET sha256 = EXCLUDED.sha256, size = EXCLUDED.size,
         rows = EXCLUDED.rows, error_rows = EXCLUDED.error_rows, created_at = clock_timestamp()`,
      [output.jobId, output.attempt, output.sha256, output.size, output.rows, output.errorRows],
    );
  }

  /** The registered outputs of the given jobs' attempts, by job id. */
  async outputs(jobs: { id: string; attempt: number }[]): Promise<Map<string, BatchOutputRecord>> {
    if (jobs.length === 0) return new Map();
    const rows = await queryRows<OutputRow>(
      this.dataSource,
      `SELECT o.*, f.path FROM registry.batch_outputs o JOIN registry.batch_files f ON f.sha256 = o.sha256
       WHERE (o.job_id, o.attempt) IN (SELECT * FROM unnest($1::text[], $2::integer[]))`,
      [jobs.map((j) => j.id), jobs.map((j) => j.attempt)],
    );
    return new Map(
      rows.map((r) => [
        r.job_id,
        {
          jobId: r.job_id,
          attempt: Number(r.attempt),
          sha256: String(r.sha256).trim(),
          size: Number(r.size),
          rows: Number(r.rows),
          errorRows: Number(r.error_rows),
          path: r.path,
          createdAt: iso(r.created_at),
        },
      ]),
    );
  }
}
