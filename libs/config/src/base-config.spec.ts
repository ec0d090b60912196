import { baseConfigSchema, brokerSettings } from './base-config';
import { ConfigError, loadConfig } from './load-config';

describe('broker settings', () => {
  it('defaults to quorum work queues with a delivery limit and the conventional producer users', () => {
    const config = loadConfig(baseConfigSchema, { AMQP_URL: 'amqp://sepal_data:pw@rabbitmq:5672' });
    expect(brokerSettings(config)).toEqual({
      amqpUrl: 'amqp://sepal_data:pw@rabbitmq:5672',
      namespace: undefined,
      producers: undefined,
      quorumQueues: true,
      deliveryLimit: 10,
    });
  });

  it('parses AMQP_PRODUCERS as app=user pairs into user → app', () => {
    const config = loadConfig(baseConfigSchema, {
      AMQP_PRODUCERS: 'registry=lp_registry, trainer=lp_trainer,trainer=lp_trainer_2',
      AMQP_QUORUM_QUEUES: 'false',
      AMQP_DELIVERY_LIMIT: '3',
    });
    expect(brokerSettings(config)).toMatchObject({
      producers: { lp_registry: 'registry', lp_trainer: 'trainer', lp_trainer_2: 'trainer' },
      quorumQueues: false,
      deliveryLimit: 3,
    });
  });

  it.each([
    ['console=sepal_console', /AMQP_PRODUCERS.*'console=sepal_console' is not app=user/],
    ['registry', /'registry' is not app=user/],
    ['registry=u,data=u', /user 'u' is given to two apps/],
  ])('refuses AMQP_PRODUCERS=%s naming what is wrong', (value, message) => {
    expect(() => loadConfig(baseConfigSchema, { AMQP_PRODUCERS: value })).toThrow(ConfigError);
    expect(() => loadConfig(baseConfigSchema, { AMQP_PRODUCERS: value })).toThrow(message);
  });

  it('bounds the delivery limit', () => {
    expect(() => loadConfig(baseConfigSchema, { AMQP_DELIVERY_LIMIT: '0' })).toThrow(/AMQP_DELIVERY_LIMIT/);
  });
});
