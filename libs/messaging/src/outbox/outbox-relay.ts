import { Logger } from '@nestjs/common';
import { EventName, EventPayloadInput, InvalidEventError } from '@sepal/contracts';
import { DataSource, EntityManager } from 'typeorm';
import { EventBus } from '../event-bus';
import { describeError } from '../describe-error';
import { outboxTable } from './sql';

export interface OutboxRelayOptions {
  /** Schema holding the `outbox` table (see outboxTableSql). */
  schema: string;
  /** Polling interval (default 1000 ms). */
  intervalMs?: number;
  /** Rows locked and published per transaction (default 100). */
  batchSize?: number;
}

interface OutboxRow {
  id: string;
  seq: string;
  message_id: string;
  type: string;
  correlation_id: string;
  payload: unknown;
}

interface BatchResult {
  sent: number;
  /** A publish failed: stop this round so later rows do not overtake it. */
  halted: boolean;
  lastSeq?: string;
  size: number;
}

/**
 * Publishes outbox rows in creation order, each with its row's message_id, and marks a row sent only after the broker
 * confirmed it. Rows are locked with FOR UPDATE SKIP LOCKED, so several relays on one table never send a row twice.
 * Delivery is at least once (a crash between confirm and commit resends): consumers dedupe by messageId.
 */
export class OutboxRelay {
  private readonly logger = new Logger(OutboxRelay.name);
  private readonly table: string;
  private readonly intervalMs: number;
  private readonly batchSize: number;
  private timer?: NodeJS.Timeout;
  private running = false;
  private lastRound: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly dataSource: DataSource,
    private readonly bus: EventBus,
    options: OutboxRelayOptions,
  ) {
    this.table = outboxTable(options.schema);
    this.intervalMs = options.intervalMs ?? 1000;
    this.batchSize = options.batchSize ?? 100;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    await this.lastRound.catch(() => undefined);
  }

  /** Publishes every pending row now (after any round in progress); resolves with how many were sent. */
  flush(): Promise<number> {
    const round = this.lastRound.catch(() => undefined).then(() => this.publishPending());
    this.lastRound = round;
    return round;
  }

  private schedule(delayMs: number): void {
    this.timer = setTimeout(() => {
      this.flush()
        .catch((error: unknown) => this.logger.error(`outbox round failed: ${describeError(error)}`))
        .finally(() => {
          if (this.running) this.schedule(this.intervalMs);
        });
    }, delayMs);
    this.timer.unref();
  }

  private async publishPending(): Promise<number> {
    let sent = 0;
    let afterSeq = '0';
    for (;;) {
      const batch = await this.dataSource.transaction((manager) => this.publishBatch(manager, afterSeq));
      sent += batch.sent;
      if (batch.halted || batch.size < this.batchSize || batch.lastSeq === undefined) return sent;
      afterSeq = batch.lastSeq;
    }
  }

  private async publishBatch(manager: EntityManager, afterSeq: string): Promise<BatchResult> {
    const rows: OutboxRow[] = await manager.query(
      `SELECT id, seq::text AS seq, message_id, type, correlation_id, payload FROM ${this.table}
       WHERE sent_at IS NULL AND seq > $1::bigint ORDER BY seq LIMIT $2 FOR UPDATE SKIP LOCKED`,
      [afterSeq, this.batchSize],
    );
    let sent = 0;
    for (const row of rows) {
      try {
        await this.bus.publish(row.type as EventName, row.payload as EventPayloadInput<EventName>, {
          messageId: row.message_id,
          correlationId: row.correlation_id,
        });
      } catch (error) {
        await this.recordFailure(manager, row, error);
        // An invalid row can never be sent: report it and go on; any other failure (broker) ends the round.
        if (!(error instanceof InvalidEventError)) return { sent, halted: true, size: rows.length };
        continue;
      }
      await manager.query(`UPDATE ${this.table} SET sent_at = now(), attempts = attempts + 1 WHERE id = $1`, [
        row.id,
      ]);
      sent++;
    }
    return { sent, halted: false, size: rows.length, lastSeq: rows.at(-1)?.seq };
  }

  private async recordFailure(manager: EntityManager, row: OutboxRow, error: unknown): Promise<void> {
    const message = describeError(error);
    this.logger.warn(`outbox ${row.type} ${row.message_id} not published: ${message}`);
    await manager.query(`UPDATE ${this.table} SET attempts = attempts + 1, last_error = $2 WHERE id = $1`, [
      row.id,
      message.slice(0, 4000),
    ]);
  }
}
