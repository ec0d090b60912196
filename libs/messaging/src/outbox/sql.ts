/** Quotes a schema name as an SQL identifier (schemas come from configuration, never from requests). */
export function quoteIdentifier(name: string): string {
  if (!name) throw new Error('a schema name must not be empty');
  return `"${name.replace(/"/g, '""')}"`;
}

export function outboxTable(schema: string): string {
  return `${quoteIdentifier(schema)}.outbox`;
}

export function inboxTable(schema: string): string {
  return `${quoteIdentifier(schema)}.inbox`;
}

/*
 * The DDL of the outbox and inbox tables. An app's migration copies it as literal SQL (a released migration is frozen),
 * so a change here needs a new migration in every app that has the table; the library's tests create them from here.
 */

/**
 * Events waiting to be published, written in the same transaction as the state change they announce. `seq` gives
 * the relay a strict creation order (rows of one transaction share `created_at`).
 */
export function outboxTableSql(schema: string): string {
  return `CREATE TABLE IF NOT EXISTS ${outboxTable(schema)} (
  id uuid PRIMARY KEY,
  seq bigint GENERATED ALWAYS AS IDENTITY,
  message_id text NOT NULL UNIQUE,
  type text NOT NULL,
  correlation_id text NOT NULL,
  payload jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  sent_at timestamptz NULL,
  attempts int NOT NULL DEFAULT 0,
  last_error text NULL
)`;
}

/** Messages a consumer has processed, so a redelivered one is recognised and skipped. */
export function inboxTableSql(schema: string): string {
  return `CREATE TABLE IF NOT EXISTS ${inboxTable(schema)} (
  message_id text NOT NULL,
  consumer text NOT NULL,
  processed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (message_id, consumer)
)`;
}
