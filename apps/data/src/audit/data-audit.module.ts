import { Global, Module } from '@nestjs/common';
import { DataAuditRepository } from './data-audit.repository';
import { DataAuditService } from './data-audit.service';

/** The data audit log: imports and feedback commits with the key that made them. */
@Global()
@Module({ providers: [DataAuditRepository, DataAuditService], exports: [DataAuditService] })
export class DataAuditModule {}
