import { EventNames, eventsOwnedBy, PRODUCER_APPS, ProducerApp } from '@sepal/contracts';

/** The parts of scripts/provision/rabbitmq-definitions.sh's output the tests read. */
export interface BrokerDefinitions {
  permissions: { user: string; configure: string; write: string; read: string }[];
  topic_permissions: { user: string; exchange: string; write: string; read: string }[];
}

/**
 * Checks the rendered definitions grant each app's user topic permissions on `exchange` for exactly the events its
 * app owns (EVENT_OWNERS), and nobody write access to the default exchange.
 */
export function expectOwnedTopics(
  definitions: BrokerDefinitions,
  userOf: (app: ProducerApp) => string,
  exchange: string,
): void {
  for (const app of PRODUCER_APPS) {
    const topics = definitions.topic_permissions.filter((t) => t.user === userOf(app));
    expect(topics).toHaveLength(1);
    expect(topics[0].exchange).toBe(exchange);
    const allowed = new RegExp(topics[0].write);
    for (const type of Object.values(EventNames)) {
      expect([type, allowed.test(type)]).toEqual([type, eventsOwnedBy(app).includes(type)]);
    }
  }
  for (const { write } of definitions.permissions) expect(new RegExp(write).test('amq.default')).toBe(false);
}
