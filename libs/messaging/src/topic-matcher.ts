/**
 * AMQP topic matching: words are separated by dots, `*` matches exactly one word and `#` zero or more.
 */
export function matchesTopic(pattern: string, routingKey: string): boolean {
  return matchWords(splitWords(pattern), 0, splitWords(routingKey), 0);
}

export function isTopicPattern(value: string): boolean {
  return splitWords(value).some((word) => word === '*' || word === '#');
}

function splitWords(value: string): string[] {
  return value === '' ? [] : value.split('.');
}

function matchWords(pattern: string[], p: number, key: string[], k: number): boolean {
  while (p < pattern.length) {
    const word = pattern[p];
    if (word === '#') {
      // `#` absorbs 0..n words: try every split point for the rest of the pattern.
      for (let skip = k; skip <= key.length; skip++) {
        if (matchWords(pattern, p + 1, key, skip)) return true;
      }
      return false;
    }
    if (k >= key.length || (word !== '*' && word !== key[k])) return false;
    p++;
    k++;
  }
  return k === key.length;
}
