import type { FuzzRequest } from './requests';

/**
 * Requests the fuzzer once answered with a 5xx, kept as they were sent; the suite replays every one first. Each
 * names what was wrong and the fix.
 */
export const REGRESSIONS: (FuzzRequest & { found: string })[] = [];
