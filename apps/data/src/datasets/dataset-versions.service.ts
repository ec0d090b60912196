import { Injectable } from '@nestjs/common';
import { DatasetDiffView, DatasetSchema, InvalidInputError, NotFoundError } from '@sepal/contracts';
import { DatasetRowsRepository, StoredRow } from './dataset-rows.repository';
import { DatasetVersionsRepository, VersionRecord } from './dataset-versions.repository';
import { DatasetsService } from './datasets.service';
import { csvCell, csvText } from './domain/csv-export';
import { parseVersionRef } from './version-ref';

/** Reading versions: listed, resolved from a reference, compared, paged and exported as CSV. */
@Injectable()
export class DatasetVersionsService {
  constructor(
    private readonly datasets: DatasetsService,
    private readonly versions: DatasetVersionsRepository,
    private readonly rows: DatasetRowsRepository,
  ) {}

  async listVersions(dataset: string): Promise<VersionRecord[]> {
    await this.datasets.requireDataset(dataset);
    return this.versions.listVersions(dataset);
  }

  async resolveVersion(dataset: string, refText: string): Promise<VersionRecord> {
    await this.datasets.requireDataset(dataset);
    const ref = parseVersionRef(refText);
    if (ref.kind === 'latest') {
      const latest = await this.versions.latestVersion(dataset);
      if (!latest) {
        throw new NotFoundError(
          `dataset '${dataset}' has no version yet`,
          `Import it: POST /datasets/${dataset}/import.`,
        );
      }
      return latest;
    }
    const found = await this.versions.findVersions(
      dataset,
      ref.kind === 'seq' ? { seq: ref.seq } : { prefix: ref.prefix },
    );
    if (found.length === 0) {
      throw new NotFoundError(
        `dataset '${dataset}' has no version '${refText}'`,
        `List the versions: GET /datasets/${dataset}/versions.`,
      );
    }
    if (found.length > 1) {
      throw new InvalidInputError(
        `'${refText}' matches several versions of '${dataset}'`,
        'Give more characters of the id.',
      );
    }
    return found[0];
  }

  async diff(dataset: string, fromRef: string, toRef: string): Promise<DatasetDiffView> {
    const from = await this.resolveVersion(dataset, fromRef);
    const to = await this.resolveVersion(dataset, toRef);
    const d = await this.rows.diffRows(dataset, from.seq, to.seq, 1000);
    const describe = (r: StoredRow) => ({
      key: r.key,
      features: r.features,
      label: labelText(to.schema, r.label),
      split: r.split,
      origin: r.origin,
    });
    return {
      dataset,
      from: { id: from.id, seq: from.seq, rowCount: from.rowCount, classCounts: from.classCounts },
      to: { id: to.id, seq: to.seq, rowCount: to.rowCount, classCounts: to.classCounts },
      rowsAdded: d.addedCount,
      rowsRemoved: d.removedCount,
      rowsMovedBetweenSplits: d.moved,
      added: d.added.map(describe),
      removed: d.removed.map(describe),
    };
  }

  rowPage(version: VersionRecord, split: 'train' | 'test' | undefined, cursor: number, limit: number) {
    return this.rows.rowPage(version, split, cursor, limit);
  }

  /** Rows the storage holds for a dataset, over all its versions. */
  storedRowCount(dataset: string): Promise<number> {
    return this.rows.storedRowCount(dataset);
  }

  /**
   * CSV text of a version or one split, header first, class names decoded; written page by page. A text cell a
   * spreadsheet would run as a formula is escaped (csvText).
   */
  async *exportCsv(version: VersionRecord, split?: 'train' | 'test'): AsyncGenerator<string> {
    yield `${[...version.schema.features, version.schema.target, 'split'].map(csvText).join(',')}\n`;
    let cursor = -1;
    for (;;) {
      const page = await this.rows.rowPage(version, split, cursor, 5000);
      yield page.features
        .map(
          (f, i) =>
            `${f.map(csvCell).join(',')},${csvCell(labelText(version.schema, page.labels[i]))},${page.splits[i]}`,
        )
        .join('\n')
        .concat(page.features.length ? '\n' : '');
      if (page.nextCursor === null) return;
      cursor = page.nextCursor;
    }
  }
}

/** The class name (classification) or the target value (regression) of a stored label. */
export function labelText(schema: DatasetSchema, label: number): string | number {
  return schema.task === 'regression' ? label : (schema.labels[label] ?? String(label));
}
