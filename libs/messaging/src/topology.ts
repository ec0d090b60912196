/**
 * Names of the exchanges and queues of one namespace. A logical queue name (e.g. `trainer.jobs`) is what
 * handlers declare; the broker sees it prefixed by the namespace.
 */
export class Topology {
  /** The topic exchange every event is published on, with its type as routing key. */
  readonly exchange: string;
  private readonly prefix: string;

  constructor(namespace = '') {
    this.prefix = namespace ? `${namespace}.` : '';
    this.exchange = `${this.prefix}sepal.events`;
  }

  /**
   * The exchange of the app that owns a queue, `<app>.dlx`, where `<app>` is the first word of the queue's logical
   * name (`trainer.jobs` → `trainer.dlx`): only that app's broker user may write to it. The queue's consumers send
   * their retries (routing key: the consuming queue) and dead letters (routing key: the dead-letter queue) through it,
   * and the queue names it as its x-dead-letter-exchange. Nothing is sent through the default exchange.
   */
  queueExchange(logicalName: string): string {
    return `${this.prefix}${queueApp(logicalName)}.dlx`;
  }

  queue(logicalName: string): string {
    return `${this.prefix}${logicalName}`;
  }

  deadLetterQueue(logicalName: string): string {
    return `${this.queue(logicalName)}.dlq`;
  }

  broadcastQueue(logicalName: string, instanceId: string): string {
    return `${this.queue(logicalName)}.${instanceId}`;
  }

  /** The routing key that binds the dead-letter queue to its app's exchange: the queue's own name. */
  deadLetterRoutingKey(logicalName: string): string {
    return this.deadLetterQueue(logicalName);
  }

  /** The routing key of a retry copy, bound to the consuming queue on its app's exchange: the queue's name. */
  retryRoutingKey(queueName: string): string {
    return queueName;
  }
}

/** The app a queue belongs to: the first word of its logical name, as the broker users' permissions read it. */
export function queueApp(logicalName: string): string {
  return logicalName.split('.')[0];
}
