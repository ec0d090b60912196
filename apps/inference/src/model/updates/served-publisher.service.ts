import { Injectable } from '@nestjs/common';
import { EventNames, ModelServed } from '@sepal/contracts';
import { EventBus } from '@sepal/messaging';

/** Where the gateway announces the model version it serves (port; BusServedPublisher publishes model.served). */
export abstract class ServedPublisher {
  /** Resolves once the announcement is accepted; a repeat carries the same `messageId`. */
  abstract publish(served: ModelServed, messageId: string): Promise<void>;
}

/** model.served on the platform's bus (resolves once the broker has confirmed it). */
@Injectable()
export class BusServedPublisher extends ServedPublisher {
  constructor(private readonly bus: EventBus) {
    super();
  }

  async publish(served: ModelServed, messageId: string): Promise<void> {
    await this.bus.publish(EventNames.ModelServed, served, { messageId });
  }
}
