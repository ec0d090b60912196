import type { Transaction } from '@sepal/persistence';
import type { GateRecord, GatesRepository } from '../../src/gates/gates.repository';

/** registry.model_gates in memory, append-only like the table. */
export class FakeGatesRepository implements Pick<GatesRepository, 'insert' | 'latest' | 'history'> {
  readonly rows: GateRecord[] = [];

  async insert(_tx: Transaction, record: Omit<GateRecord, 'at'>): Promise<GateRecord> {
    const row = {
      ...record,
      gate: { ...record.gate },
      at: new Date(Date.UTC(2025, 0, 1, 0, this.rows.length)).toISOString(),
    };
    this.rows.push(row);
    return row;
  }

  async latest(model: string): Promise<GateRecord | null> {
    return this.rows.filter((row) => row.model === model).at(-1) ?? null;
  }

  async history(model: string): Promise<GateRecord[]> {
    return this.rows.filter((row) => row.model === model);
  }
}
