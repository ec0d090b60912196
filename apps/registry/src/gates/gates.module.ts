import { Module } from '@nestjs/common';
import { ModelsModule } from '../models/models.module';
import { GatesController } from './gates.controller';
import { GatesRepository } from './gates.repository';
import { GatesService } from './gates.service';

@Module({
  imports: [ModelsModule],
  controllers: [GatesController],
  providers: [GatesRepository, GatesService],
})
export class GatesModule {}
