import type { EntityManager } from 'typeorm';

/** What `COPY ... FROM STDIN` needs of node-postgres: a client that runs a submittable on its connection. */
interface PgConnection {
  query(text: string): void;
  sendCopyFromChunk(chunk: Buffer): void;
  endCopyFrom(): void;
  sendCopyFail(message: string): void;
}

interface PgClient {
  connection: PgConnection;
  query(submittable: object): unknown;
}

/**
 * A client that can take `COPY ... FROM STDIN` (node-postgres on a real PostgreSQL), or null (the embedded PGlite
 * adapter, or a manager outside a connected query runner): callers keep a plain INSERT for that case.
 */
export function copyClientOf(manager: EntityManager): PgClient | null {
  // TypeORM's Postgres query runner keeps its connected driver client as databaseConnection.
  const runner = manager.queryRunner as { databaseConnection?: unknown } | undefined;
  const client = (runner?.databaseConnection ?? null) as Partial<PgClient> | null;
  if (!client || typeof client.query !== 'function') return null;
  const wire = client.connection as Partial<PgConnection> | undefined;
  return wire && typeof wire.sendCopyFromChunk === 'function' && typeof wire.endCopyFrom === 'function'
    ? (client as PgClient)
    : null;
}

/**
 * Runs `sql` (a `COPY ... FROM STDIN`) on the client and sends `data` (rows in COPY's text format) as its input.
 * The protocol in node-postgres's terms (what the pg-copy-streams package does, without a stream): the client
 * hands the submittable its connection for each message of the exchange, and the query ends at ReadyForQuery.
 */
export function copyIn(client: PgClient, sql: string, data: Buffer): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let failed: Error | null = null;
    client.query({
      submit: (connection: PgConnection) => connection.query(sql),
      handleCopyInResponse: (connection: PgConnection) => {
        // 64 kB messages: what the server reads at once, and no single huge message in the socket's buffer.
        for (let at = 0; at < data.length; at += 65536) {
          connection.sendCopyFromChunk(data.subarray(at, Math.min(data.length, at + 65536)));
        }
        connection.endCopyFrom();
      },
      handleCommandComplete: () => undefined,
      handleReadyForQuery: () => (failed ? reject(failed) : resolve()),
      handleError: (error: Error) => {
        failed = error;
        // After an error the client forgets this query, so ReadyForQuery never reaches it: settle now.
        reject(error);
      },
      // Messages a COPY FROM never receives; present so an unexpected one is ignored rather than a TypeError.
      handleRowDescription: () => undefined,
      handleDataRow: () => undefined,
      handleEmptyQuery: () => undefined,
      handlePortalSuspended: () => undefined,
      handleCopyData: () => undefined,
    });
  });
}

/** A cell in COPY's text format: backslash, tab, newline and carriage return escaped; null as \N. */
export function copyText(value: string | null): string {
  if (value === null) return '\\N';
  return /[\\\t\n\r]/.test(value) ? value.replace(/[\\\t\n\r]/g, (c) => COPY_ESCAPES[c]) : value;
}

const COPY_ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };
