/**
 * Thrown by a handler that gives its message back without settling it, e.g. because its process is stopping: the
 * broker redelivers it (flagged redelivered) to this consumer or another. It is neither retried here nor dead-lettered,
 * and it does not count as an attempt.
 */
export class RequeueDelivery extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RequeueDelivery';
  }
}
