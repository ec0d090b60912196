import { Module } from '@nestjs/common';
import { DatasetImportService } from './dataset-import.service';
import { DatasetRowsRepository } from './dataset-rows.repository';
import { DatasetVersionsRepository } from './dataset-versions.repository';
import { DatasetVersionsService } from './dataset-versions.service';
import { DatasetsController } from './datasets.controller';
import { DatasetsRepository } from './datasets.repository';
import { DatasetsService } from './datasets.service';
import { RowWritesRepository } from './row-writes.repository';
import { StagingRepository } from './staging.repository';
import { VersionWriterService } from './version-writer.service';

const REPOSITORIES = [
  DatasetsRepository,
  DatasetVersionsRepository,
  DatasetRowsRepository,
  StagingRepository,
  RowWritesRepository,
];
const SERVICES = [DatasetsService, VersionWriterService, DatasetImportService, DatasetVersionsService];

@Module({
  controllers: [DatasetsController],
  providers: [...REPOSITORIES, ...SERVICES],
  exports: [...REPOSITORIES, ...SERVICES],
})
export class DatasetsModule {}
