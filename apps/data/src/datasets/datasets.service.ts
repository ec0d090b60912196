import { Injectable } from '@nestjs/common';
import { DatasetSchema, featureColumnsOf, InvalidInputError, NotFoundError } from '@sepal/contracts';
import { DATASET_CATALOG, findDefinition } from '../catalog/catalog';
import { DatasetDefinition } from '../catalog/dataset-definition';
import { DatasetsRepository } from './datasets.repository';

/** Dataset names: what is safe in a URL, a file name and a log line. */
const SAFE_NAME = /^[a-z][a-z0-9_-]{0,62}$/;

/** The datasets themselves: the built-in catalog, safe names, which datasets exist. */
@Injectable()
export class DatasetsService {
  constructor(private readonly datasetRecords: DatasetsRepository) {}

  catalog(): readonly DatasetDefinition[] {
    return DATASET_CATALOG;
  }

  /** Refuses a name that is not a safe identifier (400). */
  checkName(name: string): string {
    if (!SAFE_NAME.test(name)) {
      throw new InvalidInputError(
        `dataset name '${name.slice(0, 80)}' is not a safe identifier`,
        'Use 1-63 characters: a lowercase letter, then lowercase letters, digits, - or _.',
      );
    }
    return name;
  }

  /** A dataset that exists (built in, or imported); 404 naming the known ones otherwise. */
  async requireDataset(name: string): Promise<void> {
    this.checkName(name);
    if (findDefinition(name) || (await this.datasetRecords.datasetExists(name))) return;
    const imported = (await this.datasetRecords.listDatasets()).map((d) => d.name);
    const known = [...new Set([...DATASET_CATALOG.map((d) => d.name), ...imported])];
    throw new NotFoundError(
      `unknown dataset '${name}'`,
      `Known datasets: ${known.join(', ')}. Import a CSV: POST /datasets/${name}/import with Content-Type text/csv.`,
    );
  }
  async listDatasets() {
    return this.datasetRecords.listDatasets();
  }
}

/** A schema whose rows a parent's rows can be kept under: same columns, target and task, labels only appended. */
export function sameBase(parent: DatasetSchema, next: DatasetSchema): boolean {
  const a = featureColumnsOf(parent);
  const b = featureColumnsOf(next);
  return (
    parent.target === next.target &&
    parent.task === next.task &&
    a.length === b.length &&
    a.every((c, i) => c.name === b[i].name && c.type === b[i].type) &&
    parent.labels.every((label, i) => next.labels[i] === label)
  );
}
