/** A Fisher-Yates permutation of 0..length-1 drawn from `random`, so a seeded generator repeats the order. */
export function seededPermutation(length: number, random: () => number): number[] {
  const order = Array.from({ length }, (_, index) => index);
  for (let i = length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}
