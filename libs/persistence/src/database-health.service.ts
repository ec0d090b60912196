import { Injectable, OnModuleInit, Optional } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { HealthRegistry } from '@sepal/observability';

/** Adds the `database` readiness check: a round trip to PostgreSQL or PGlite. */
@Injectable()
export class DatabaseHealth implements OnModuleInit {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Optional() private readonly health?: HealthRegistry,
  ) {}

  onModuleInit(): void {
    this.health?.register('database', async () => {
      await this.dataSource.query('SELECT 1');
    });
  }
}
