import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { claimMessage } from '@sepal/messaging';
import { managerOf, Transaction } from '@sepal/persistence';
import { REGISTRY_SCHEMA } from '../registry.schema';

/** The inbox consumer under which the trainer's events (queue registry.training) are claimed. */
export const TRAINING_EVENTS = 'registry.training';

/** The registry's inbox: which consumed messages were already applied, so a redelivery is applied once. */
@Injectable()
export class InboxRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Claims a message for a consumer in the transaction that applies it; false if it was claimed before. */
  claim(tx: Transaction, messageId: string, consumer: string): Promise<boolean> {
    return claimMessage(managerOf(tx, this.dataSource), REGISTRY_SCHEMA, messageId, consumer);
  }
}
