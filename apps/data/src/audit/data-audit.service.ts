import { Injectable, Logger } from '@nestjs/common';
import type { DataAuditEntry } from '@sepal/contracts';
import { DataAuditRepository } from './data-audit.repository';

/** Records who imported data or committed feedback (the calling key's name), and lists it. */
@Injectable()
export class DataAuditService {
  private readonly logger = new Logger('DataAudit');

  constructor(private readonly repository: DataAuditRepository) {}

  async record(entry: Omit<DataAuditEntry, 'id' | 'at'>): Promise<void> {
    await this.repository.insert(entry);
    this.logger.log(`${entry.dataset}: ${entry.action} -> ${entry.version ?? '-'} by ${entry.actor}`);
  }

  list(dataset: string, limit = 1000): Promise<DataAuditEntry[]> {
    return this.repository.list(dataset, limit);
  }
}
