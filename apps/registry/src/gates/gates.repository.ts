import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { ModelGate } from '@sepal/contracts';
import { managerOf, queryRows, Transaction } from '@sepal/persistence';
import { iso } from '../paging';

/** One change of a model's gate, as recorded (the latest is the model's gate). */
export interface GateRecord {
  model: string;
  gate: ModelGate;
  by: string;
  reason: string;
  at: string;
}

/** A row of registry.model_gates. */
interface GateRow {
  model_name: string;
  metric: string;
  direction: ModelGate['direction'];
  floor: number | null;
  margin: number;
  actor: string;
  reason: string;
  at: Date;
}

const toRecord = (r: GateRow): GateRecord => ({
  model: r.model_name,
  gate: {
    metric: r.metric,
    direction: r.direction,
    floor: r.floor === null ? null : Number(r.floor),
    margin: Number(r.margin),
  },
  by: r.actor,
  reason: r.reason,
  at: iso(r.at),
});

/** Every SQL statement about models' promotion gates (registry.model_gates, append-only). */
@Injectable()
export class GatesRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async insert(tx: Transaction, record: Omit<GateRecord, 'at'>): Promise<GateRecord> {
    const { gate } = record;
    const rows = await queryRows<GateRow>(
      managerOf(tx, this.dataSource),
      `INSERT INTO registry.model_gates (model_name, metric, direction, floor, margin, actor, reason)
       VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *`,
      [record.model, gate.metric, gate.direction, gate.floor, gate.margin, record.by, record.reason],
    );
    return toRecord(rows[0]);
  }

  async latest(model: string): Promise<GateRecord | null> {
    const rows = await queryRows<GateRow>(
      this.dataSource,
      `SELECT * FROM registry.model_gates WHERE model_name = $1 ORDER BY id DESC LIMIT 1`,
      [model],
    );
    return rows.length ? toRecord(rows[0]) : null;
  }

  async history(model: string): Promise<GateRecord[]> {
    const rows = await queryRows<GateRow>(
      this.dataSource,
      `SELECT * FROM registry.model_gates WHERE model_name = $1 ORDER BY id`,
      [model],
    );
    return rows.map(toRecord);
  }
}
