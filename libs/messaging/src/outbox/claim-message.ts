import { EntityManager } from 'typeorm';
import { inboxTable } from './sql';

/**
 * Records that `consumer` processes `messageId`; false if it already has. Call it in the transaction that does the
 * work, so a failed attempt leaves no claim and a redelivery after a commit is skipped.
 */
export async function claimMessage(
  manager: EntityManager,
  schema: string,
  messageId: string,
  consumer: string,
): Promise<boolean> {
  const inserted: unknown = await manager.query(
    `INSERT INTO ${inboxTable(schema)} (message_id, consumer) VALUES ($1, $2)
     ON CONFLICT DO NOTHING RETURNING message_id`,
    [messageId, consumer],
  );
  return Array.isArray(inserted) && inserted.length === 1;
}
