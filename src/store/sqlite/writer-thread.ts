/**
 * The SQLite writer thread. It owns the only write connection and commits every write the
 * process makes. Requests that arrive while a commit is running queue up on the port; the next
 * loop drains them all (up to `maxBatch`) into ONE transaction, so N concurrent webhooks cost one
 * fsync, not N — and the fsync blocks this thread, never the HTTP event loop.
 */
import { receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import { HookflowError } from '../../errors/catalogue.js';
import { migrate, openWriteConnection } from './open-database.js';
import { SqliteWrites } from './sqlite-writes.js';
import type { MainToWriter, SerializedError, WriteRequest, WriteResponse, WriterThreadOptions, WriterToMain } from './writer-protocol.js';

const { port, options } = workerData as { port: MessagePort; options: WriterThreadOptions };
const send = (message: WriterToMain): void => port.postMessage(message);

let db: Database.Database;
let writes: SqliteWrites;
let savepoint: Database.Statement;
let release: Database.Statement;
let rollbackToSavepoint: Database.Statement;
try {
  db = openWriteConnection(options);
  migrate(db);
  writes = new SqliteWrites(db);
  savepoint = db.prepare('SAVEPOINT request');
  release = db.prepare('RELEASE request');
  rollbackToSavepoint = db.prepare('ROLLBACK TO request');
  send({ type: 'ready' });
} catch (error) {
  send({ type: 'fatal', message: error instanceof Error ? error.message : String(error) });
  process.exit(1);
}

port.on('message', (message: MainToWriter) => {
  if (message.type === 'close') return close();
  const batch = [...message.requests];
  let closeAfterBatch = false;
  // Group commit: take everything that queued up while the previous commit ran.
  while (batch.length < options.maxBatch) {
    const next = receiveMessageOnPort(port) as { message: MainToWriter } | undefined;
    if (next === undefined) break;
    if (next.message.type === 'close') {
      closeAfterBatch = true;
      break;
    }
    batch.push(...next.message.requests);
  }
  send({ type: 'results', responses: commitBatch(batch) });
  if (closeAfterBatch) close();
});

function close(): void {
  db.close();
  send({ type: 'closed' });
  port.close();
}

function commitBatch(batch: WriteRequest[]): WriteResponse[] {
  // Fast path: the whole batch in one transaction with no per-request bookkeeping. Writes
  // rarely fail on their own (a duplicate id, an unknown workflow); when one does, the batch is
  // rolled back and redone with a savepoint per request, so only that request fails.
  return runInTransaction(batch, false) ?? runInTransaction(batch, true) ?? [];
}

/**
 * Runs a batch in one BEGIN IMMEDIATE … COMMIT. Returns null when, without savepoints, one
 * request failed (the caller retries isolated); answers every request with the storage error
 * when the transaction itself cannot begin or commit — nothing of the batch is then durable.
 */
function runInTransaction(batch: WriteRequest[], isolateRequests: boolean): WriteResponse[] | null {
  try {
    db.exec('BEGIN IMMEDIATE');
  } catch (error) {
    return batch.map((request) => ({ id: request.id, ok: false, error: serialize(error) }));
  }
  try {
    const responses: WriteResponse[] = [];
    for (const request of batch) {
      if (isolateRequests) savepoint.run();
      try {
        const operation = writes[request.op] as (args: unknown) => unknown;
        responses.push({ id: request.id, ok: true, value: operation.call(writes, request.args) });
        if (isolateRequests) release.run();
      } catch (error) {
        if (!isolateRequests) {
          db.exec('ROLLBACK');
          return null;
        }
        rollbackToSavepoint.run();
        release.run();
        responses.push({ id: request.id, ok: false, error: serialize(error) });
      }
    }
    db.exec('COMMIT');
    return responses;
  } catch (error) {
    if (db.inTransaction) {
      try {
        db.exec('ROLLBACK');
      } catch {
        // The connection is already out of the transaction; nothing more to undo.
      }
    }
    return batch.map((request) => ({ id: request.id, ok: false, error: serialize(error) }));
  }
}

const STORAGE_ERROR = /^SQLITE_(BUSY|LOCKED|IOERR|FULL|READONLY|CANTOPEN|PROTOCOL|CORRUPT|NOTADB|NOLFS|NOMEM)/;

function serialize(error: unknown): SerializedError {
  if (error instanceof HookflowError) return { code: error.code, message: error.message, storage: false };
  const code = error instanceof Error ? (error as { code?: unknown }).code : undefined;
  const message = error instanceof Error ? error.message : String(error);
  return { code: typeof code === 'string' ? code : undefined, message, storage: typeof code === 'string' && STORAGE_ERROR.test(code) };
}

