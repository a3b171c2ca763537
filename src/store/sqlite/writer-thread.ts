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
import { WAL_LOCK, type MainToWriter, type SerializedError, type WriteRequest, type WriteResponse, type WriterThreadOptions, type WriterToMain } from './writer-protocol.js';

const { port, options } = workerData as { port: MessagePort; options: WriterThreadOptions };
const send = (message: WriterToMain): void => port.postMessage(message);

let db: Database.Database;
let writes: SqliteWrites;
let savepoint: Database.Statement;
let release: Database.Statement;
let rollbackToSavepoint: Database.Statement;
/** Main-thread ingest on (main-ingest.ts): this thread runs every checkpoint, under the WAL lock. */
const walLock = options.walLock === undefined ? null : new Int32Array(options.walLock);
/** Own commits between two checkpoints when this thread runs them (the main thread asks too). */
const COMMITS_PER_CHECKPOINT = 200;
let commitsSinceCheckpoint = 0;
let checkpointWanted = false;
let walRestart: Database.Statement;
try {
  db = openWriteConnection({ ...options, autocheckpoint: walLock === null ? undefined : 0 });
  migrate(db);
  // Row 2 of the probe table: the small write that follows each checkpoint (see checkpoint()).
  walRestart = db.prepare('INSERT INTO readiness_probe (id, checked_at) VALUES (2, ?) ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at');
  // Leaves a WAL file with a synced header for the main thread's fd, restarted by this thread.
  if (walLock !== null) checkpoint(walLock);
  writes = new SqliteWrites(db, { probeFile: options.probeFile });
  savepoint = db.prepare('SAVEPOINT request');
  release = db.prepare('RELEASE request');
  rollbackToSavepoint = db.prepare('ROLLBACK TO request');
  send({ type: 'ready' });
} catch (error) {
  send({ type: 'fatal', message: error instanceof Error ? error.message : String(error) });
  process.exit(1);
}

/** Requests received and not yet committed, oldest first: urgent ones (URGENT_WRITES) apart, taken first. */
const urgent: WriteRequest[] = [];
const waiting: WriteRequest[] = [];

port.on('message', (first: MainToWriter) => {
  let closing = take(first);
  for (;;) {
    // Group commit: take everything that queued up while the previous commit ran…
    while (!closing) {
      const next = receiveMessageOnPort(port) as { message: MainToWriter } | undefined;
      if (next === undefined) break;
      closing = take(next.message);
    }
    if (urgent.length + waiting.length === 0) break;
    // …and commit it in transactions of at most maxBatch writes, the urgent ones first.
    const batch = urgent.splice(0, options.maxBatch);
    if (batch.length < options.maxBatch) batch.push(...waiting.splice(0, options.maxBatch - batch.length));
    send({ type: 'results', responses: commitBatch(batch) });
    commitsSinceCheckpoint += 1;
  }
  if (walLock !== null && (checkpointWanted || commitsSinceCheckpoint >= COMMITS_PER_CHECKPOINT)) checkpoint(walLock);
  if (closing) close();
});

/**
 * Checkpoints (PASSIVE: never waits for readers or writers) holding the WAL lock, then, still
 * holding it, commits one small write, which restarts the WAL when the checkpoint backfilled all
 * of it (and syncs the new header here) or else appends to it. So the main thread's connection
 * never starts a write on a fully backfilled WAL, which would restart it and fsync on the event
 * loop. The main thread only holds the lock for one commit's CPU time, never across an await.
 */
function checkpoint(lock: Int32Array): void {
  checkpointWanted = false;
  commitsSinceCheckpoint = 0;
  while (Atomics.compareExchange(lock, 0, WAL_LOCK.free, WAL_LOCK.writer) !== WAL_LOCK.free) Atomics.wait(lock, 0, WAL_LOCK.main, 1);
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
    db.transaction(() => walRestart.run(Date.now())).immediate();
  } catch {
    // Busy (another process holds the lock) or an I/O error: the next checkpoint tries again.
  } finally {
    Atomics.store(lock, 0, WAL_LOCK.free);
  }
}

/** Queues a message's writes; true for the request to close (after what is queued). */
function take(message: MainToWriter): boolean {
  if (message.type === 'close') return true;
  if (message.type === 'checkpoint') {
    checkpointWanted = true;
    return false;
  }
  for (const request of message.requests) (request.urgent ? urgent : waiting).push(request);
  return false;
}

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
function runInTransaction(all: WriteRequest[], isolateRequests: boolean): WriteResponse[] | null {
  try {
    db.exec('BEGIN IMMEDIATE');
  } catch (error) {
    return all.map((request) => ({ id: request.id, ok: false, error: serialize(error) }));
  }
  // Checked once the lock is ours (BEGIN IMMEDIATE may have waited up to the busy timeout for
  // another process): a write whose caller was already answered 503 must not be committed
  // after all, or the sender's retry would store it twice.
  const now = Date.now();
  const late = all.filter((request) => request.deadline <= now);
  const batch = late.length === 0 ? all : all.filter((request) => request.deadline > now);
  const lateResponses = late.map((request): WriteResponse => ({ id: request.id, ok: false, error: TOO_LATE }));
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
    return lateResponses.length === 0 ? responses : [...lateResponses, ...responses];
  } catch (error) {
    if (db.inTransaction) {
      try {
        db.exec('ROLLBACK');
      } catch {
        // The connection is already out of the transaction; nothing more to undo.
      }
    }
    return [...lateResponses, ...batch.map((request): WriteResponse => ({ id: request.id, ok: false, error: serialize(error) }))];
  }
}

/** The answer to a write whose deadline passed before its transaction could start. */
const TOO_LATE: SerializedError = { code: undefined, message: 'Commit did not start in time', storage: true };

// SQLite's own, and the file system's from the readiness probe's space check.
const STORAGE_ERROR = /^(SQLITE_(BUSY|LOCKED|IOERR|FULL|READONLY|CANTOPEN|PROTOCOL|CORRUPT|NOTADB|NOLFS|NOMEM)|ENOSPC$|EDQUOT$|EROFS$|EIO$)/;

function serialize(error: unknown): SerializedError {
  if (error instanceof HookflowError) return { code: error.code, message: error.message, storage: false };
  const code = error instanceof Error ? (error as { code?: unknown }).code : undefined;
  const message = error instanceof Error ? error.message : String(error);
  return { code: typeof code === 'string' ? code : undefined, message, storage: typeof code === 'string' && STORAGE_ERROR.test(code) };
}

