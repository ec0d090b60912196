import { z } from 'zod';
import { firstAttemptRunId, uuidFromName } from './run-ids';

describe('run ids', () => {
  it('derives a stable, valid UUID from a message id', () => {
    const id = firstAttemptRunId('message-1');
    expect(id).toBe(firstAttemptRunId('message-1'));
    expect(id).not.toBe(firstAttemptRunId('message-2'));
    expect(z.string().uuid().safeParse(id).success).toBe(true);
    expect(id[14]).toBe('5');
    expect(uuidFromName('x')).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
  });
});
