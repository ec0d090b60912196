import { isTopicPattern, matchesTopic } from './topic-matcher';

describe('matchesTopic', () => {
  it.each([
    ['model.promoted', 'model.promoted', true],
    ['model.promoted', 'model.registered', false],
    ['model.promoted', 'model.promoted.extra', false],
    ['model.*', 'model.promoted', true],
    ['model.*', 'model', false],
    ['model.*', 'model.promoted.extra', false],
    ['*.promoted', 'model.promoted', true],
    ['*.*', 'training.progress', true],
    ['#', 'training.progress', true],
    ['#', 'a', true],
    ['#', '', true],
    ['training.#', 'training', true],
    ['training.#', 'training.progress', true],
    ['training.#', 'training.progress.step', true],
    ['training.#', 'trainer.progress', false],
    ['#.progress', 'training.progress', true],
    ['#.progress', 'progress', true],
    ['#.progress', 'training.progressive', false],
    ['a.#.z', 'a.z', true],
    ['a.#.z', 'a.b.c.z', true],
    ['a.#.z', 'a.b.c', false],
    ['a.*.#', 'a', false],
    ['a.*.#', 'a.b', true],
    ['#.#', 'a.b', true],
    ['*', 'model.promoted', false],
  ])('%s vs %s → %s', (pattern, key, expected) => {
    expect(matchesTopic(pattern, key)).toBe(expected);
  });

  it('treats a wildcard inside a word literally', () => {
    expect(matchesTopic('model.pro*', 'model.promoted')).toBe(false);
    expect(matchesTopic('model.pro*', 'model.pro*')).toBe(true);
  });
});

describe('isTopicPattern', () => {
  it('recognises patterns with wildcard words', () => {
    expect(isTopicPattern('training.*')).toBe(true);
    expect(isTopicPattern('#')).toBe(true);
    expect(isTopicPattern('model.promoted')).toBe(false);
  });
});
