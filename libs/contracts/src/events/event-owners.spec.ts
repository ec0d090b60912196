import { ALL_EVENT_NAMES, EventNames } from './event-names';
import { EVENT_OWNERS, eventsOwnedBy, isEventOwner, isProducerApp, PRODUCER_APPS } from './event-owners';

describe('EVENT_OWNERS', () => {
  it('names at least one producing app for every event, and only known apps', () => {
    for (const type of ALL_EVENT_NAMES) {
      const owners: readonly string[] = EVENT_OWNERS[type];
      expect(owners.length).toBeGreaterThan(0);
      for (const owner of owners) expect(isProducerApp(owner)).toBe(true);
    }
    expect(Object.keys(EVENT_OWNERS).sort()).toEqual([...ALL_EVENT_NAMES].sort());
  });

  it('lets only the registry announce promotions and traffic splits', () => {
    for (const app of PRODUCER_APPS) {
      expect(isEventOwner(EventNames.ModelPromoted, app)).toBe(app === 'registry');
      expect(isEventOwner(EventNames.ModelTraffic, app)).toBe(app === 'registry');
    }
  });

  it('refuses a name that is not an app', () => {
    expect(isEventOwner(EventNames.ModelPromoted, 'guest')).toBe(false);
    expect(isEventOwner(EventNames.ModelPromoted, '')).toBe(false);
    expect(isProducerApp('console')).toBe(false);
  });

  it('lists what each app may publish, every event exactly under its owners', () => {
    expect(eventsOwnedBy('registry')).toEqual([
      'batch.requested',
      'job.cancel-requested',
      'model.promoted',
      'model.traffic',
      'train.requested',
    ]);
    expect(eventsOwnedBy('data')).toEqual(['dataset.versioned']);
    const listed = PRODUCER_APPS.flatMap((app) => eventsOwnedBy(app));
    expect(new Set(listed)).toEqual(new Set(ALL_EVENT_NAMES));
  });
});
