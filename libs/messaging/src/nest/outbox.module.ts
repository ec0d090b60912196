import { DynamicModule, Inject, Module, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { getDataSourceToken } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { EventBus } from '../event-bus';
import { OutboxRelay } from '../outbox/outbox-relay';

@Module({})
export class OutboxModule implements OnApplicationBootstrap, OnApplicationShutdown {
  constructor(@Inject(OutboxRelay) private readonly relay: OutboxRelay) {}

  /** The relay that publishes the `<schema>.outbox` table, running while the app runs. */
  static forSchema(schema: string, intervalMs = 1000): DynamicModule {
    return {
      module: OutboxModule,
      global: true,
      providers: [
        {
          provide: OutboxRelay,
          useFactory: (dataSource: DataSource, bus: EventBus) =>
            new OutboxRelay(dataSource, bus, { schema, intervalMs }),
          inject: [getDataSourceToken(), EventBus],
        },
      ],
      exports: [OutboxRelay],
    };
  }

  onApplicationBootstrap(): void {
    this.relay.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.relay.stop();
  }
}
