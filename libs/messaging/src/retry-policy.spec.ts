import { NotFoundError, UnprocessableError } from '@sepal/contracts';
import { createEnvelope } from './create-envelope';
import { processDelivery } from './retry-policy';

const body = JSON.stringify(
  createEnvelope('feedback.received', { dataset: 'iris', features: [1, 2, 3, 4], label: 'x' }),
);

describe('processDelivery', () => {
  it('retries a transient failure while attempts remain, then dead-letters it', async () => {
    const fail = async () => {
      throw new Error('database restarting');
    };
    expect(await processDelivery(body, 1, 3, fail)).toEqual({
      kind: 'retry',
      nextAttempt: 2,
      error: 'database restarting',
    });
    expect(await processDelivery(body, 4, 3, fail)).toEqual({
      kind: 'dead-letter',
      error: 'database restarting',
      attempts: 4,
    });
  });

  it('dead-letters at once an event the receiver finds unprocessable', async () => {
    const outcome = await processDelivery(body, 1, 3, async () => {
      throw new UnprocessableError("unknown class 'x'");
    });
    expect(outcome).toEqual({ kind: 'dead-letter', error: "unknown class 'x'", attempts: 1 });
  });

  it('still retries a not-found, which may be a race with another service', async () => {
    const outcome = await processDelivery(body, 1, 3, async () => {
      throw new NotFoundError('no such version yet');
    });
    expect(outcome.kind).toBe('retry');
  });

  it('dead-letters an invalid body without calling the handler', async () => {
    const handler = jest.fn();
    const outcome = await processDelivery('{"not":"an envelope"}', 1, 3, handler);
    expect(outcome.kind).toBe('dead-letter');
    expect(handler).not.toHaveBeenCalled();
  });

  it('dead-letters a refused event (its producer does not own it) without calling the handler', async () => {
    const handler = jest.fn();
    const outcome = await processDelivery(body, 1, 3, handler, (envelope) =>
      envelope.type === 'feedback.received' ? 'refused: not an owner' : undefined,
    );
    expect(outcome).toEqual({ kind: 'dead-letter', error: 'refused: not an owner', attempts: 0 });
    expect(handler).not.toHaveBeenCalled();
  });
});
