import { Injectable, Logger } from '@nestjs/common';
import type { DataAuditEntry } from '@sepal/contracts';
import type { Transaction } from '@sepal/persistence';
import { DataAuditRepository } from './data-audit.repository';

/**
 * Records who imported data, committed feedback (by hand or by the every-N policy) or changed a frozen evaluation set
 * (the calling key's name), and lists it.
 */
@Injectable()
export class DataAuditService {
  private readonly logger = new Logger('DataAudit');

  constructor(private readonly repository: DataAuditRepository) {}

  /** In `tx` when given: the entry commits with the change it records, or not at all. */
  async record(entry: Omit<DataAuditEntry, 'id' | 'at'>, tx?: Transaction): Promise<void> {
    await this.repository.insert(entry, tx);
    this.logger.log(`${entry.dataset}: ${entry.action} -> ${entry.version ?? '-'} by ${entry.actor}`);
  }

  list(dataset: string, limit = 1000): Promise<DataAuditEntry[]> {
    return this.repository.list(dataset, limit);
  }
}
