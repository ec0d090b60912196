import { createSignature } from '../predict/model-signature';
import { loggedHeader, LoggedHeaders } from './logged-rows';

describe('LoggedHeaders', () => {
  it('builds the header of a signature once and gives every later request the same one', () => {
    const headers = new LoggedHeaders();
    const signature = createSignature(['a', 'b'], ['no', 'yes']);
    const first = headers.of(signature);
    expect(first).toEqual({ features: ['a', 'b'], labels: ['no', 'yes'] });
    expect(headers.of(signature)).toBe(first);
    const other = createSignature(['a', 'b'], ['no', 'yes']);
    expect(headers.of(other)).not.toBe(first);
    expect(headers.of(other)).toEqual(first);
  });

  it('names no classes for a regressor', () => {
    expect(loggedHeader(createSignature(['x'], [], { task: 'regression' }))).toEqual({
      features: ['x'],
      labels: undefined,
    });
  });
});
