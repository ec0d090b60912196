import { LoggerService } from '@nestjs/common';
import { EventEnvelope, eventOwners, isEventOwner, isProducerApp, PRODUCER_APPS } from '@sepal/contracts';
import { MessageHeaders, SepalHeaders } from './dead-letters';

/** The broker users of the distributed setups by default (scripts/provision, docker-compose): sepal_<app>. */
export const DEFAULT_PRODUCERS: Readonly<Record<string, string>> = Object.fromEntries(
  PRODUCER_APPS.map((app) => [`sepal_${app}`, app]),
);

/** The user an AMQP URL logs in as: its user name, or amqplib's default `guest` when it names none. */
export function amqpLogin(amqpUrl: string): string {
  const url = new URL(amqpUrl);
  if (url.username === '' && url.password === '') return 'guest';
  return decodeURIComponent(url.username);
}

/** Where a message came from, as the consuming bus sees it. */
export interface MessageSource {
  /** The AMQP user-id property (validated by RabbitMQ against the publisher's login); the bus identity in process. */
  userId?: string;
  /** The exchange it was routed through. */
  exchange?: string;
  routingKey?: string;
  headers: MessageHeaders;
}

export interface ProducerPolicyOptions {
  /** The consuming bus's own login: the user-id of the retry copies it sends itself. */
  login: string;
  /** The events exchange: a message routed through it must have its type as routing key. */
  eventsExchange: string;
  /** The app a producer identity publishes as, or undefined if it is none. */
  appOf(identity: string): string | undefined;
  /**
   * Whether an event from an identity that is no app's is accepted (and logged once): the shared development user
   * (guest on loopback), or any caller of the in-process bus. False where identities are configured.
   */
  acceptUnmapped: boolean;
  /** Why such an identity is accepted, for the log line. */
  acceptedBecause?: string;
  logger: LoggerService;
}

/**
 * Decides whether an event may be acted on given who published it: a producer that is an app's identity must own the
 * event's type (EVENT_OWNERS); one that is not is refused where identities are configured, and accepted (logged once)
 * in the shared development setup.
 */
export class ProducerPolicy {
  private readonly loggedUnmapped = new Set<string>();

  constructor(private readonly options: ProducerPolicyOptions) {}

  /**
   * The identity that published the event: a retry copy this bus sent itself through `ownExchange` (the consuming
   * queue's app exchange, which only that app may write to) names the original one.
   */
  producerOf(source: MessageSource, ownExchange: string): string | undefined {
    const relayed = source.headers[SepalHeaders.Producer];
    if (
      source.exchange === ownExchange &&
      source.userId === this.options.login &&
      typeof relayed === 'string'
    ) {
      return relayed;
    }
    return source.userId;
  }

  /** Why the event must not be acted on, or undefined when it may. */
  refusal(envelope: EventEnvelope, source: MessageSource, ownExchange: string): string | undefined {
    const { type } = envelope;
    if (source.exchange === this.options.eventsExchange && source.routingKey !== type) {
      return `refused: published with routing key '${source.routingKey}' but its type is '${type}'`;
    }
    const producer = this.producerOf(source, ownExchange);
    const owners = eventOwners(type).join(', ');
    const app = producer === undefined ? undefined : this.options.appOf(producer);
    if (app !== undefined) {
      return isEventOwner(type, app)
        ? undefined
        : `refused: producer '${producer}' is the ${app} app, which does not own ${type} (owners: ${owners})`;
    }
    if (this.options.acceptUnmapped) {
      this.logUnmapped(producer ?? '(none)');
      return undefined;
    }
    return producer === undefined
      ? `refused: ${type} carries no user-id, so its producer is unknown (owners: ${owners})`
      : `refused: producer '${producer}' is no app's broker user (AMQP_PRODUCERS), and ${type} belongs to ${owners}`;
  }

  private logUnmapped(producer: string): void {
    if (this.loggedUnmapped.has(producer)) return;
    this.loggedUnmapped.add(producer);
    const because =
      this.options.acceptedBecause ??
      `this bus logs in as '${this.options.login}', a shared development identity, so owner checks apply only to app identities`;
    this.options.logger.warn(
      `accepting events from '${producer}', which is no app's identity: ${because} (see docs/messaging.md)`,
    );
  }
}

/** The producer policy of a bus on RabbitMQ: identities are enforced when its own login is an app's user. */
export function amqpProducerPolicy(
  login: string,
  producers: Readonly<Record<string, string>>,
  eventsExchange: string,
  logger: LoggerService,
): ProducerPolicy {
  const appOf = (user: string) => (Object.hasOwn(producers, user) ? producers[user] : undefined);
  return new ProducerPolicy({
    login,
    eventsExchange,
    appOf,
    acceptUnmapped: appOf(login) === undefined,
    logger,
  });
}

/** In process the identity is the bus's service name: an app's name is checked, any other (a test, a tool) is not. */
export function inProcessProducerPolicy(
  serviceName: string,
  eventsExchange: string,
  logger: LoggerService,
): ProducerPolicy {
  return new ProducerPolicy({
    login: serviceName,
    eventsExchange,
    appOf: (identity) => (isProducerApp(identity) ? identity : undefined),
    acceptUnmapped: true,
    acceptedBecause: "in process, a bus named after no app (a test's, a tool's) may publish any event",
    logger,
  });
}
