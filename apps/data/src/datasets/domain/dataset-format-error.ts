import { InvalidInputError } from '@sepal/contracts';

/** A raw file that does not match its declared format; names the line (1-based, as in an editor). */
export class DatasetFormatError extends InvalidInputError {
  constructor(
    readonly line: number | null,
    readonly problem: string,
  ) {
    super(
      line === null ? problem : `line ${line}: ${problem}`,
      'Nothing was written. Fix the file and import it again.',
      { line, problem },
    );
  }
}
