/** Throws unless every entry is an integer class index in [0, classCount). */
export function assertClassIndices(indices: readonly number[], classCount: number, what: string): void {
  indices.forEach((index, position) => {
    if (!Number.isInteger(index) || index < 0 || index >= classCount) {
      throw new Error(`${what}[${position}] is ${index}, expected a class index in [0, ${classCount})`);
    }
  });
}
