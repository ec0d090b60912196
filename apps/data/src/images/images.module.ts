import { Module } from '@nestjs/common';
import { DatasetsModule } from '../datasets/datasets.module';
import { ImageImportService } from './image-import.service';
import { ImageReadService } from './image-read.service';
import { ImagesController } from './images.controller';
import { ImagesRepository } from './images.repository';

/** Image datasets: imports (zip of class folders, IDX pairs, fashion-mnist), pixel pages, samples, PNGs. */
@Module({
  imports: [DatasetsModule],
  controllers: [ImagesController],
  providers: [ImagesRepository, ImageImportService, ImageReadService],
})
export class ImagesModule {}
