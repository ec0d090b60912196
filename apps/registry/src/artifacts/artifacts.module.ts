import { Module } from '@nestjs/common';
import { ArtifactsController } from './artifacts.controller';
import { ArtifactsRepository } from './artifacts.repository';
import { ArtifactsService } from './artifacts.service';
import { ArtifactStore } from './artifact-store.repository';
import { OnnxChecker, WorkerOnnxChecker } from './onnx-checker.service';

@Module({
  controllers: [ArtifactsController],
  providers: [
    ArtifactsRepository,
    ArtifactsService,
    ArtifactStore,
    { provide: OnnxChecker, useClass: WorkerOnnxChecker },
  ],
  exports: [ArtifactsService, ArtifactStore],
})
export class ArtifactsModule {}
