import { Pool, types, type PoolClient, type QueryConfig } from 'pg';
import { storageError } from './pg-errors.js';

/** Connections per store; every node opens its own pool. */
export const POOL_SIZE = 10;

const INT8_OID = 20;

/**
 * Type parsers for this store's connections only (never `pg.types` globally, which would change
 * every other `pg` user in the process). BIGINT columns hold epoch-ms times and counts, all far
 * inside Number's safe range, so they come back as numbers rather than pg's default strings.
 */
export const PG_TYPES = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID && format !== 'binary' ? (value: string) => Number(value) : types.getTypeParser(oid, format)) as typeof types.getTypeParser,
};

/** A query that may legitimately run long (migrations, retention) gets this instead of the pool's timeout. */
const LONG_QUERY_TIMEOUT_MS = 10 * 60_000;

/**
 * Opens the pool. Connection attempts give up after `connectTimeoutMs` and every query after
 * `queryTimeoutMs` (on our side of the wire), so a dead or stalled server answers 503, not a hang.
 */
export function createPool(options: { connectionString: string; connectTimeoutMs: number; queryTimeoutMs: number }): Pool {
  const pool = new Pool({
    connectionString: options.connectionString,
    max: POOL_SIZE,
    connectionTimeoutMillis: options.connectTimeoutMs,
    query_timeout: options.queryTimeoutMs,
    application_name: 'hookflow',
    types: PG_TYPES,
  });
  // An idle client whose connection drops emits 'error' on the pool; unhandled, it would crash
  // the process. The pool already discards that client, and the next query reports the outage.
  pool.on('error', () => undefined);
  return pool;
}

/** `text` as a query allowed to run for minutes: a migration or a retention sweep. */
export function longQuery(text: string, values?: unknown[]): QueryConfig & { query_timeout: number } {
  return { text, ...(values === undefined ? {} : { values }), query_timeout: LONG_QUERY_TIMEOUT_MS };
}

/**
 * Runs `work` inside BEGIN … COMMIT on one pooled connection; rolls back on any error and
 * rethrows it as a HookflowError. A connection that failed mid-transaction is destroyed, not
 * returned to the pool.
 */
export async function withTransaction<T>(pool: Pool, action: string, work: (client: PoolClient) => Promise<T>): Promise<T> {
  let client: PoolClient;
  try {
    client = await pool.connect();
  } catch (error) {
    throw storageError(error, action);
  }
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch((rollbackError: unknown) => {
      broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
    });
    throw storageError(error, action);
  } finally {
    client.release(broken);
  }
}
