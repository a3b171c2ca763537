import type { ServerConfig } from '../config/server-config.js';
import { HookflowError } from '../errors/catalogue.js';
import { SqliteStore } from './sqlite/sqlite-store.js';
import type { Store } from './store.js';

/** Opens the store the configuration names: PostgreSQL when DATABASE_URL is set, else SQLite. */
export async function openStore(config: ServerConfig): Promise<Store> {
  if (config.databaseUrl !== undefined) {
    // Loaded lazily so the embedded default never loads `pg`.
    const { PostgresStore } = await import('./postgres/postgres-store.js').catch((cause: unknown) => {
      throw new HookflowError('HOOKFLOW_ERR_CONFIG', 'PostgreSQL storage is not available in this build', { cause });
    });
    return PostgresStore.open({ connectionString: config.databaseUrl, maxPending: config.commit.maxPending, writeTimeoutMs: config.commit.timeoutMs });
  }
  return SqliteStore.open({
    dataDir: config.dataDir,
    synchronous: config.sqlite.synchronous,
    busyTimeoutMs: config.sqlite.busyTimeoutMs,
    ingestPath: config.sqlite.ingestPath,
    checkpointEveryRows: config.sqlite.checkpointEveryRows,
    maxBatch: config.commit.maxBatch,
    maxPending: config.commit.maxPending,
    writeTimeoutMs: config.commit.timeoutMs,
  });
}
