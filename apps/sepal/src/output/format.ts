/** A metric or summary figure: whole numbers as they are, others to 4 decimals. */
export const formatNumber = (value: number) => (Number.isInteger(value) ? String(value) : value.toFixed(4));

/** `key=value` pairs on one line (params, metrics, tags, a step's summary). */
export const pairs = (record: Record<string, unknown>) =>
  Object.entries(record)
    .map(([key, value]) => `${key}=${typeof value === 'number' ? formatNumber(value) : String(value)}`)
    .join(' ');
