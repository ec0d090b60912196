/** The fakes' clock, their transaction port (one transaction at a time, rolled back on error) and inbox. */
import { AsyncLocalStorage } from 'node:async_hooks';
import { fakeTransaction, Transaction, TransactionRunner } from '@sepal/persistence';
import { InboxRepository } from '../../src/inbox/inbox.repository';

/** The public surface of a class (what a service can call), without its private fields. */
export type PublicOf<T> = { [K in keyof T]: T[K] };

/** A deterministic clock: each call is one second after the previous one. */
export class FakeClock {
  private ticks = 0;
  constructor(private readonly start = Date.parse('2025-01-01T00:00:00Z')) {}

  now(): string {
    return new Date(this.start + 1000 * this.ticks++).toISOString();
  }
}

/** State that a transaction rollback restores. */
export abstract class TransactionalStore<S> {
  constructor(
    protected state: S,
    protected readonly transactions: FakeTransactions,
  ) {
    transactions.register(this);
  }

  /** Saves the state; the returned function puts it back. */
  snapshot(): () => void {
    const saved = structuredClone(this.state);
    return () => {
      this.state = saved;
    };
  }
}

/**
 * The TransactionRunner port in memory: one transaction at a time (as on the embedded database), each rolled back
 * (every registered store restored) when its work throws.
 */
export class FakeTransactions extends TransactionRunner {
  committed = 0;
  rolledBack = 0;
  private readonly stores: TransactionalStore<unknown>[] = [];
  private readonly current = new AsyncLocalStorage<Transaction>();
  private readonly open = new Set<Transaction>();
  private queue: Promise<unknown> = Promise.resolve();

  register(store: TransactionalStore<unknown>): void {
    this.stores.push(store);
  }

  run<T>(work: (tx: Transaction) => Promise<T>): Promise<T> {
    if (this.current.getStore()) {
      return Promise.reject(
        new Error('a transaction inside a transaction: pass the open one to repositories'),
      );
    }
    const turn = this.queue.then(() => this.runNow(work));
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  /** For fake repositories: a write needs the transaction the service opened, still open. */
  write(tx: Transaction): void {
    if (!this.open.has(tx)) throw new Error('a repository write outside an open transaction');
  }

  /** For fake repositories: a read inside a transaction must be given it. */
  read(tx: Transaction | undefined): void {
    if (tx) this.write(tx);
    else if (this.current.getStore()) {
      throw new Error(
        'a read beside the open transaction (it would wait for it forever on the embedded database)',
      );
    }
  }

  private async runNow<T>(work: (tx: Transaction) => Promise<T>): Promise<T> {
    const restores = this.stores.map((store) => store.snapshot());
    const tx = fakeTransaction();
    this.open.add(tx);
    try {
      const result = await this.current.run(tx, () => work(tx));
      this.committed++;
      return result;
    } catch (error) {
      restores.forEach((restore) => restore());
      this.rolledBack++;
      throw error;
    } finally {
      this.open.delete(tx);
    }
  }
}

export class FakeInbox
  extends TransactionalStore<{ claimed: string[] }>
  implements PublicOf<InboxRepository>
{
  constructor(transactions: FakeTransactions) {
    super({ claimed: [] }, transactions);
  }

  async claim(tx: Transaction, messageId: string, consumer: string): Promise<boolean> {
    this.transactions.write(tx);
    const key = `${consumer}/${messageId}`;
    if (this.state.claimed.includes(key)) return false;
    this.state.claimed.push(key);
    return true;
  }
}
