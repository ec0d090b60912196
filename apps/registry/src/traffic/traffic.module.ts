import { Module } from '@nestjs/common';
import { TrafficController } from './traffic.controller';
import { TrafficRepository } from './traffic.repository';
import { TrafficService } from './traffic.service';

/** Canary and shadow traffic splits of registered models. */
@Module({
  controllers: [TrafficController],
  providers: [TrafficRepository, TrafficService],
})
export class TrafficModule {}
