import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';

declare const transactionBrand: unique symbol;

/**
 * An open database transaction as services see it: an opaque handle they pass to repositories. Only repositories
 * (through `managerOf`) reach the TypeORM manager behind it, so services never touch SQL or TypeORM.
 */
export interface Transaction {
  readonly [transactionBrand]: true;
}

/**
 * The port through which a service groups repository calls into one atomic unit. Services depend on this abstract
 * class; unit specs give them a fake (`run: (work) => work(fakeTransaction())`).
 */
export abstract class TransactionRunner {
  abstract run<T>(work: (tx: Transaction) => Promise<T>): Promise<T>;
}

/** The real runner: one TypeORM transaction on the app's data source. */
@Injectable()
export class TypeOrmTransactionRunner extends TransactionRunner {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {
    super();
  }

  run<T>(work: (tx: Transaction) => Promise<T>): Promise<T> {
    return this.dataSource.transaction((manager) => work(manager as unknown as Transaction));
  }
}

/** For repositories only: the manager of a transaction, or the data source's own manager outside one. */
export function managerOf(tx: Transaction | undefined, dataSource: DataSource): EntityManager {
  return tx ? (tx as unknown as EntityManager) : dataSource.manager;
}

/** For unit specs: a transaction handle that carries nothing (fakes ignore it). */
export function fakeTransaction(): Transaction {
  return {} as Transaction;
}
