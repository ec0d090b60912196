import { PipeTransform } from '@nestjs/common';
import { z } from 'zod';
import { formatZodError, InvalidInputError } from '@sepal/contracts';

/** Validates a body, query or param against a zod schema; the 400 names every bad field. */
export class ZodValidationPipe<S extends z.ZodType> implements PipeTransform<unknown, z.output<S>> {
  constructor(
    private readonly schema: S,
    private readonly what = 'request',
  ) {}

  transform(value: unknown): z.output<S> {
    const result = this.schema.safeParse(value ?? {});
    if (!result.success) {
      throw new InvalidInputError(
        `invalid ${this.what}: ${formatZodError(result.error)}`,
        'Check the field names and types against the API docs at /docs.',
        result.error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message })),
      );
    }
    return result.data;
  }
}
