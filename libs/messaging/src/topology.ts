/**
 * Names of the exchanges and queues of one namespace. A logical queue name (e.g. `trainer.jobs`) is what
 * handlers declare; the broker sees it prefixed by the namespace.
 */
export class Topology {
  readonly exchange: string;
  readonly deadLetterExchange: string;
  private readonly prefix: string;

  constructor(namespace = '') {
    this.prefix = namespace ? `${namespace}.` : '';
    this.exchange = `${this.prefix}sepal.events`;
    this.deadLetterExchange = `${this.prefix}sepal.dlx`;
  }

  queue(logicalName: string): string {
    return `${this.prefix}${logicalName}`;
  }

  /** Also the routing key that binds the dead-letter queue to the dead-letter exchange. */
  deadLetterQueue(logicalName: string): string {
    return `${this.queue(logicalName)}.dlq`;
  }

  broadcastQueue(logicalName: string, instanceId: string): string {
    return `${this.queue(logicalName)}.${instanceId}`;
  }

  deadLetterRoutingKey(logicalName: string): string {
    return this.queue(logicalName);
  }
}
