import type { AppliedCleaningRule } from '@sepal/contracts';

/** A documented correction a version applied to its raw file (RowConverter applies them while reading). */
export type { AppliedCleaningRule };
