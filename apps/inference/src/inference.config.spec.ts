import { hostname } from 'node:os';
import { ConfigError } from '@sepal/config';
import { defaultReplicaId, InferenceConfig } from './inference.config';

describe('InferenceConfig', () => {
  it('names the replica <hostname>:<port> by default', () => {
    expect(InferenceConfig.load({}).INFERENCE_REPLICA_ID).toBe(`${hostname()}:3000`);
    expect(InferenceConfig.load({ INFERENCE_PORT: '3100' }).INFERENCE_REPLICA_ID).toBe(`${hostname()}:3100`);
  });

  it('keeps a default id within the 200 characters of model.served', () => {
    const id = defaultReplicaId(3000, 'h'.repeat(300));
    expect(id).toHaveLength(200);
    expect(id.endsWith('h:3000')).toBe(true);
  });

  it('takes INFERENCE_REPLICA_ID as given (trimmed)', () => {
    expect(InferenceConfig.load({ INFERENCE_REPLICA_ID: ' gateway-2 ' }).INFERENCE_REPLICA_ID).toBe(
      'gateway-2',
    );
  });

  it.each([
    ['a space', 'gateway 2', 'printable ASCII without spaces'],
    ['over 200 characters', 'g'.repeat(201), 'Too big'],
  ])('refuses an id with %s, naming the variable', (_what, value, rule) => {
    let error: unknown;
    try {
      InferenceConfig.load({ INFERENCE_REPLICA_ID: value });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      expect.stringMatching(new RegExp(`^INFERENCE_REPLICA_ID: .*${rule}`, 'i')),
    ]);
  });
});
