/** The message of a thrown value, for log lines and error texts. */
export const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));
