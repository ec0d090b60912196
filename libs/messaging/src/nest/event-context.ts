import { BaseRpcContext } from '@nestjs/microservices';
import { DeliveryInfo } from '../event-bus';

/** Available to handlers through `@Ctx() context: EventContext`. */
export class EventContext extends BaseRpcContext<[DeliveryInfo]> {
  getQueue(): string {
    return this.args[0].queue;
  }

  /** 1 for the first delivery; higher for retries. */
  getAttempt(): number {
    return this.args[0].attempt;
  }

  isRedelivered(): boolean {
    return this.args[0].redelivered;
  }
}
