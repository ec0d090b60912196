import { Module } from '@nestjs/common';
import { ArtifactsController } from './artifacts.controller';
import { ArtifactsRepository } from './artifacts.repository';
import { ArtifactsService } from './artifacts.service';
import { ArtifactStore } from './artifact-store';

@Module({
  controllers: [ArtifactsController],
  providers: [ArtifactsRepository, ArtifactsService, ArtifactStore],
  exports: [ArtifactsService],
})
export class ArtifactsModule {}
