import type { SqliteWrites } from './sqlite-writes.js';

/** Names of the write operations the writer thread runs (the public methods of SqliteWrites). */
export type WriteOp = {
  [K in keyof SqliteWrites]: SqliteWrites[K] extends (args: never) => unknown ? K : never;
}[keyof SqliteWrites];
export type WriteArgs<K extends WriteOp> = Parameters<SqliteWrites[K]>[0];
export type WriteResult<K extends WriteOp> = ReturnType<SqliteWrites[K]>;

export interface WriteRequest {
  id: number;
  op: WriteOp;
  args: unknown;
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
}

export type MainToWriter = { type: 'batch'; requests: WriteRequest[] } | { type: 'close' };
export type WriterToMain =
  | { type: 'ready' }
  | { type: 'results'; responses: WriteResponse[] }
  | { type: 'fatal'; message: string }
  | { type: 'closed' };
