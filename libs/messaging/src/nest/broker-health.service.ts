import { Inject, Injectable, OnModuleInit, Optional } from '@nestjs/common';
import { HealthRegistry } from '@sepal/observability';
import { EventBus } from '../event-bus';

/** Adds the `broker` readiness check: the bus has a live connection (always true for the in-process bus). */
@Injectable()
export class BrokerHealth implements OnModuleInit {
  constructor(
    @Inject(EventBus) private readonly bus: EventBus,
    @Optional() private readonly health?: HealthRegistry,
  ) {}

  onModuleInit(): void {
    this.health?.register('broker', () => {
      if (!this.bus.isConnected()) throw new Error('not connected to the message broker; reconnecting');
    });
  }
}
