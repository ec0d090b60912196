import { DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AppDataSourceOptions, createAppDataSource } from './data-source';
import { DatabaseHealth } from './database-health.service';
import { TransactionRunner, TypeOrmTransactionRunner } from './transaction.service';

@Module({})
export class PersistenceModule {
  /** The app's TypeORM data source (PostgreSQL or embedded PGlite), migrated before the app starts. */
  static forRoot(options: AppDataSourceOptions): DynamicModule {
    return {
      module: PersistenceModule,
      global: true,
      imports: [
        TypeOrmModule.forRootAsync({
          useFactory: () => ({}),
          dataSourceFactory: () => createAppDataSource(options),
        }),
      ],
      providers: [DatabaseHealth, { provide: TransactionRunner, useClass: TypeOrmTransactionRunner }],
      exports: [TypeOrmModule, TransactionRunner],
    };
  }
}
