import type { FastifyReply, FastifyRequest } from 'fastify';
import { Readable } from 'node:stream';
import { ImportDatasetResponse } from '@sepal/contracts';
import { DataAuditService } from '../audit/data-audit.service';
import { VersionRecord } from './dataset-versions.repository';
import { versionView } from './version-view';

/** What an import (CSV or images) made: a new version or the existing one with the same content. */
export interface ImportOutcome {
  version: VersionRecord;
  created: boolean;
  rowsWritten: number;
  rowsRemoved: number;
}

/**
 * Runs `run` with the request's streamed body (undefined when there is none) and the size its Content-Length
 * declares. Whatever happens, a refused upload is read to its end and discarded afterwards, so the client gets the
 * answer rather than a reset.
 */
export async function withUpload<T>(
  request: FastifyRequest,
  run: (stream: Readable | undefined, declaredBytes: number | undefined) => Promise<T>,
): Promise<T> {
  const stream = request.body instanceof Readable ? request.body : undefined;
  try {
    return await run(
      stream,
      stream ? Number(request.headers['content-length'] ?? NaN) || undefined : undefined,
    );
  } finally {
    if (stream && !stream.readableEnded) stream.resume();
  }
}

/** Records the import of `dataset` by `actor` in the audit log and answers it: 201 for a new version, else 200. */
export async function answerImport(
  audit: DataAuditService,
  reply: FastifyReply,
  dataset: string,
  actor: string,
  outcome: ImportOutcome,
): Promise<ImportDatasetResponse> {
  await audit.record({
    dataset,
    action: 'import',
    version: outcome.version.id,
    created: outcome.created,
    actor,
  });
  void reply.status(outcome.created ? 201 : 200);
  return {
    created: outcome.created,
    version: versionView(outcome.version),
    rowsWritten: outcome.rowsWritten,
    rowsRemoved: outcome.rowsRemoved,
  };
}
