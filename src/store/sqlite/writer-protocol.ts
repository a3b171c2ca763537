import type { SqliteWrites } from './sqlite-writes.js';

/** Names of the write operations the writer thread runs (the public methods of SqliteWrites). */
export type WriteOp = {
  [K in keyof SqliteWrites]: SqliteWrites[K] extends (args: never) => unknown ? K : never;
}[keyof SqliteWrites];
export type WriteArgs<K extends WriteOp> = Parameters<SqliteWrites[K]>[0];
export type WriteResult<K extends WriteOp> = ReturnType<SqliteWrites[K]>;

/**
 * Writes that go ahead of the queue: what a worker must record for runs it holds (claim,
 * heartbeat, checkpoint, completion, release) and the readiness probe. They are never refused
 * by the admission cap (HOOKFLOW_MAX_PENDING_WRITES) and are committed before waiting ingests:
 * refusing or delaying a worker's write lets its lease lapse, and the run executes twice.
 * Their number is bounded by the workers' concurrency, not by senders.
 */
export const URGENT_WRITES: ReadonlySet<WriteOp> = new Set<WriteOp>(['claimRuns', 'heartbeat', 'checkpointStep', 'completeRun', 'failRun', 'releaseRun', 'ping']);

export interface WriteRequest {
  id: number;
  op: WriteOp;
  args: unknown;
  /** One of URGENT_WRITES: the thread commits it before any other waiting write. */
  urgent: boolean;
  /** Epoch ms after which the caller has been answered 503: the thread then skips the write. */
  deadline: number;
}

export interface SerializedError {
  code: string | undefined;
  message: string;
  /** True for storage trouble (busy, I/O, full disk) that a retry may get past. */
  storage: boolean;
}

export type WriteResponse = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: SerializedError };

/** What the main thread passes to the writer thread at start. */
export interface WriterThreadOptions {
  file: string;
  synchronous: 'FULL' | 'NORMAL' | 'EXTRA';
  busyTimeoutMs: number;
  maxBatch: number;
  /**
   * A file the readiness probe writes (and removes) beside the database: SQLite commits may
   * reuse WAL space already allocated, so only a fresh allocation shows that the disk is full.
   */
  probeFile: string;
  /**
   * Set when the main thread commits ingests itself (main-ingest.ts): an Int32Array(1) over this
   * buffer is the WAL lock (see WAL_LOCK), and the thread then runs every checkpoint.
   */
  walLock?: SharedArrayBuffer | undefined;
}

/**
 * Values of the WAL lock shared by the main thread's ingest connection and the writer thread:
 * the main thread holds it while it commits, the writer thread while it checkpoints and then
 * restarts the WAL, so the main thread never begins a write on a fully backfilled WAL (that
 * write would reset the WAL and fsync its header on the event loop). See main-ingest.ts.
 */
export const WAL_LOCK = { free: 0, main: 1, writer: 2 } as const;

export type MainToWriter = { type: 'batch'; requests: WriteRequest[] } | { type: 'checkpoint' } | { type: 'close' };
export type WriterToMain =
  | { type: 'ready' }
  | { type: 'results'; responses: WriteResponse[] }
  | { type: 'fatal'; message: string }
  | { type: 'closed' };
