import { randomUUID } from 'node:crypto';
import { EventName, EventPayloadInput } from '@sepal/contracts';
import { EntityManager } from 'typeorm';
import { createEnvelope, PublishOptions } from '../create-envelope';
import { outboxTable } from './sql';

/**
 * Validates the event (InvalidEventError) and writes it to the outbox with the caller's transaction, so it is
 * published (by OutboxRelay) if and only if that transaction commits. Returns the messageId it will carry.
 */
export async function enqueueEvent<N extends EventName>(
  manager: EntityManager,
  schema: string,
  type: N,
  payload: EventPayloadInput<N>,
  options: PublishOptions = {},
): Promise<string> {
  if (!manager.queryRunner?.isTransactionActive) {
    throw new Error('enqueueEvent must run inside a transaction: dataSource.transaction((manager) => …)');
  }
  const envelope = createEnvelope(type, payload, options);
  await manager.query(
    `INSERT INTO ${outboxTable(schema)} (id, message_id, type, correlation_id, payload) VALUES ($1, $2, $3, $4, $5)`,
    [
      randomUUID(),
      envelope.messageId,
      envelope.type,
      envelope.correlationId,
      JSON.stringify(envelope.payload),
    ],
  );
  return envelope.messageId;
}
