import Database from 'better-sqlite3';
import { SQLITE_MIGRATIONS } from './migrations.js';

/** Opens the write connection with the pragmas durability depends on. */
export function openWriteConnection(options: { file: string; synchronous: string; busyTimeoutMs: number; autocheckpoint?: number | undefined }): Database.Database {
  const db = new Database(options.file);
  db.pragma(`busy_timeout = ${Math.trunc(options.busyTimeoutMs)}`);
  db.pragma('journal_mode = WAL');
  // FULL: the WAL is fsynced at every commit, so an acknowledged webhook survives power loss.
  db.pragma(`synchronous = ${options.synchronous}`);
  db.pragma('foreign_keys = ON');
  // 0: this connection never checkpoints; the writer thread does (see main-ingest.ts).
  if (options.autocheckpoint !== undefined) db.pragma(`wal_autocheckpoint = ${Math.trunc(options.autocheckpoint)}`);
  return db;
}

/** Opens a read-only connection; in WAL mode readers never wait for the writer. */
export function openReadConnection(options: { file: string; busyTimeoutMs: number }): Database.Database {
  const db = new Database(options.file, { readonly: true, fileMustExist: true });
  db.pragma(`busy_timeout = ${Math.trunc(options.busyTimeoutMs)}`);
  return db;
}

/**
 * Applies pending numbered migrations, each in its own transaction. Safe to call on every start,
 * and from two processes starting at once: whether a migration is applied is read inside its
 * write transaction, so the second process finds it done instead of applying it again.
 */
export function migrate(db: Database.Database): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)');
  const isApplied = db.prepare('SELECT 1 FROM schema_migrations WHERE version = ?');
  for (const migration of SQLITE_MIGRATIONS) {
    db.transaction(() => {
      if (isApplied.get(migration.version) !== undefined) return;
      db.exec(migration.sql);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(migration.version, migration.name, Date.now());
    }).immediate();
  }
}
