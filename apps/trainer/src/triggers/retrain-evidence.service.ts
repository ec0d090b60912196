import { Injectable } from '@nestjs/common';
import { DataClient } from '../clients/data-client';
import { RegistryClient } from '../clients/registry-client';

/** A model's champion and the dataset version it was trained on (null: its lineage does not say). */
export interface ChampionTraining {
  version: number;
  datasetVersion: string | null;
}

/** The champion of a model and its training data (port; RegistryChampionLookup asks the registry). */
export abstract class ChampionLookup {
  /** null when the model has no champion. */
  abstract championTraining(modelName: string): Promise<ChampionTraining | null>;
}

/** The newest version of a dataset (port; DataServiceVersions asks the data service). */
export abstract class DatasetVersions {
  /** The id (content SHA-256) of the dataset's latest version. */
  abstract latest(dataset: string): Promise<string>;
}

/** The champion alias, then the version's lineage (its run, else the run's sweep, names the dataset version). */
@Injectable()
export class RegistryChampionLookup extends ChampionLookup {
  constructor(private readonly registry: RegistryClient) {
    super();
  }

  async championTraining(modelName: string): Promise<ChampionTraining | null> {
    const champion = await this.registry.champion(modelName);
    if (!champion) return null;
    const lineage = await this.registry.lineage(modelName, champion.version);
    return { version: champion.version, datasetVersion: lineage.datasetVersion };
  }
}

@Injectable()
export class DataServiceVersions extends DatasetVersions {
  constructor(private readonly data: DataClient) {
    super();
  }

  async latest(dataset: string): Promise<string> {
    return (await this.data.version(dataset, 'latest')).id;
  }
}
