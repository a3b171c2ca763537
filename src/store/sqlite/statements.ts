import type Database from 'better-sqlite3';
import { HookflowError } from '../../errors/catalogue.js';

/** Prepares each SQL text once per connection and hands back the cached statement after. */
export function statementCache(db: Database.Database): (text: string) => Database.Statement {
  const statements = new Map<string, Database.Statement>();
  return (text) => {
    let statement = statements.get(text);
    if (statement === undefined) {
      statement = db.prepare(text);
      statements.set(text, statement);
    }
    return statement;
  };
}

/** Runs a read, turning SQLite's storage errors into STORAGE_UNAVAILABLE. */
export function sqliteRead<T>(query: () => T): Promise<T> {
  try {
    return Promise.resolve(query());
  } catch (error) {
    return Promise.reject(new HookflowError('HOOKFLOW_ERR_STORAGE_UNAVAILABLE', 'SQLite read failed', { cause: error, transient: true }));
  }
}
