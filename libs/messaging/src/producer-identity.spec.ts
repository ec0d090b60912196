import { EventName, EventNames } from '@sepal/contracts';
import { sampleEventPayload } from '@sepal/testing';
import { createEnvelope } from './create-envelope';
import { SepalHeaders } from './dead-letters';
import {
  amqpLogin,
  amqpProducerPolicy,
  DEFAULT_PRODUCERS,
  inProcessProducerPolicy,
  MessageSource,
} from './producer-identity';

const EVENTS = 'sepal.events';
/** The consuming queue's app exchange (registry.training → registry.dlx). */
const OWN = 'registry.dlx';
const logger = () => ({ log: jest.fn(), warn: jest.fn(), error: jest.fn() });
const envelope = (type: EventName) => createEnvelope(type, sampleEventPayload(type) as never);
const published = (type: EventName, userId?: string): MessageSource => ({
  userId,
  exchange: EVENTS,
  routingKey: type,
  headers: {},
});

describe('amqpLogin', () => {
  it("reads the URL's user, decoded, and amqplib's default guest when it names none", () => {
    expect(amqpLogin('amqp://sepal_registry:pw@rabbitmq:5672')).toBe('sepal_registry');
    expect(amqpLogin('amqp://a%40b:pw@host/vhost')).toBe('a@b');
    expect(amqpLogin('amqp://rabbitmq:5672')).toBe('guest');
  });
});

describe('ProducerPolicy on RabbitMQ with identities configured (the consumer logs in as sepal_registry)', () => {
  const policy = amqpProducerPolicy('sepal_registry', DEFAULT_PRODUCERS, EVENTS, logger());

  it('accepts an event from a user of an owning app', () => {
    expect(
      policy.refusal(envelope(EventNames.RunFinished), published('run.finished', 'sepal_trainer'), OWN),
    ).toBe(undefined);
    const request = envelope(EventNames.TrainRequested);
    expect(policy.refusal(request, published('train.requested', 'sepal_trainer'), OWN)).toBeUndefined();
    expect(policy.refusal(request, published('train.requested', 'sepal_registry'), OWN)).toBeUndefined();
  });

  it("refuses, with the reason, an event from another app's user", () => {
    expect(
      policy.refusal(envelope(EventNames.ModelPromoted), published('model.promoted', 'sepal_data'), OWN),
    ).toBe(
      "refused: producer 'sepal_data' is the data app, which does not own model.promoted (owners: registry)",
    );
  });

  it('refuses an event from a user that is no app, or without a user-id', () => {
    const promoted = envelope(EventNames.ModelPromoted);
    expect(policy.refusal(promoted, published('model.promoted', 'guest'), OWN)).toMatch(
      /producer 'guest' is no app's broker user .* belongs to registry/,
    );
    expect(policy.refusal(promoted, published('model.promoted'), OWN)).toMatch(/carries no user-id/);
  });

  it('refuses a type that is not its routing key on the events exchange', () => {
    expect(
      policy.refusal(
        envelope(EventNames.ModelPromoted),
        {
          ...published('model.promoted', 'sepal_registry'),
          routingKey: 'dataset.versioned',
        },
        OWN,
      ),
    ).toMatch(/routing key 'dataset\.versioned' but its type is 'model\.promoted'/);
  });

  it('trusts the producer named by a retry copy only when it came back through its own exchange, from itself', () => {
    const copy: MessageSource = {
      userId: 'sepal_registry',
      exchange: 'registry.dlx',
      routingKey: 'registry.training',
      headers: { [SepalHeaders.Producer]: 'sepal_trainer' },
    };
    expect(policy.producerOf(copy, OWN)).toBe('sepal_trainer');
    expect(policy.refusal(envelope(EventNames.RunFinished), copy, OWN)).toBeUndefined();
    // The same header on a message from anyone else, or through another exchange, is ignored.
    expect(policy.producerOf({ ...copy, userId: 'sepal_data' }, OWN)).toBe('sepal_data');
    expect(policy.producerOf({ ...copy, exchange: EVENTS, routingKey: 'run.finished' }, OWN)).toBe(
      'sepal_registry',
    );
  });

  it('maps the users given by AMQP_PRODUCERS instead of the defaults', () => {
    const custom = amqpProducerPolicy(
      'lp_registry',
      { lp_registry: 'registry', lp_data: 'data' },
      EVENTS,
      logger(),
    );
    const promoted = envelope(EventNames.ModelPromoted);
    expect(custom.refusal(promoted, published('model.promoted', 'lp_registry'), OWN)).toBeUndefined();
    expect(custom.refusal(promoted, published('model.promoted', 'lp_data'), OWN)).toMatch(/the data app/);
    expect(custom.refusal(promoted, published('model.promoted', 'sepal_registry'), OWN)).toMatch(/no app's/);
  });
});

describe('ProducerPolicy with the shared development user (guest)', () => {
  it('accepts events from users that are no app, logging it once, and still checks app users', () => {
    const log = logger();
    const policy = amqpProducerPolicy('guest', DEFAULT_PRODUCERS, EVENTS, log);
    const promoted = envelope(EventNames.ModelPromoted);
    expect(policy.refusal(promoted, published('model.promoted', 'guest'), OWN)).toBeUndefined();
    expect(policy.refusal(promoted, published('model.promoted', 'guest'), OWN)).toBeUndefined();
    expect(policy.refusal(promoted, published('model.promoted'), OWN)).toBeUndefined();
    expect(log.warn).toHaveBeenCalledTimes(2); // once for guest, once for "no user-id"
    expect(log.warn.mock.calls[0][0]).toMatch(/shared development identity/);
    expect(policy.refusal(promoted, published('model.promoted', 'sepal_inference'), OWN)).toMatch(
      /inference app/,
    );
  });
});

describe('ProducerPolicy in process', () => {
  const policy = inProcessProducerPolicy('inference', EVENTS, logger());

  it("checks an app's bus identity and accepts any other identity (a test's, a tool's)", () => {
    const promoted = envelope(EventNames.ModelPromoted);
    expect(policy.refusal(promoted, published('model.promoted', 'registry'), OWN)).toBeUndefined();
    expect(policy.refusal(promoted, published('model.promoted', 'trainer'), OWN)).toMatch(/the trainer app/);
    expect(policy.refusal(promoted, published('model.promoted', 'test-bus'), OWN)).toBeUndefined();
  });
});
