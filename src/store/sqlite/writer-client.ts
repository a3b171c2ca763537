import { MessageChannel, type MessagePort, type Worker } from 'node:worker_threads';
import { startThread } from '../../util/start-thread.js';
import { ERRORS, HookflowError, type ErrorCode } from '../../errors/catalogue.js';
import type { PendingWrites } from '../readiness.js';
import {
  URGENT_WRITES, WAL_LOCK, type MainToWriter, type SerializedError, type WriteArgs, type WriteOp, type WriteRequest, type WriteResponse, type WriteResult,
  type WriterThreadOptions, type WriterToMain,
} from './writer-protocol.js';

export interface WriterClientOptions extends WriterThreadOptions {
  /** Writes (other than URGENT_WRITES) allowed to wait for a commit; more are refused at once (→ 503). */
  maxPending: number;
  /** A write not committed within this is answered as failed (→ 503), ms. */
  timeoutMs: number;
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  deadline: number;
  urgent: boolean;
}

const SWEEP_INTERVAL_MS = 100;

/**
 * The main thread's handle on the writer thread. A write goes over at once when the thread is
 * idle; while it commits, later writes gather and go over together the moment its results
 * return (or at the end of the event-loop turn), and the thread commits whatever has queued as
 * one transaction — URGENT_WRITES first. So the commit of one group overlaps the parsing of the
 * next instead of waiting for the whole turn. Every write settles: with its result after the
 * commit, or with STORAGE_UNAVAILABLE when the writer is overloaded, too slow, or gone — never
 * left hanging. Nothing here throws out of a timer or a message handler: a value that cannot be
 * handed to the thread fails that one write.
 */
export class WriterClient {
  private worker: Worker | null = null;
  private port: MessagePort | null = null;
  private ready: Promise<void> | null = null;
  private readonly pending = new Map<number, Pending>();
  /** Pending writes that count against maxPending (not urgent). */
  private queued = 0;
  private outgoing: WriteRequest[] = [];
  private flushScheduled = false;
  /** Writes handed to the thread whose results have not come back: 0 means it is idle. */
  private atWriter = 0;
  private nextId = 1;
  private closing = false;
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly options: WriterClientOptions) {
    this.sweeper = setInterval(() => this.expireOverdue(), SWEEP_INTERVAL_MS);
    this.sweeper.unref();
  }

  /** Starts the thread (which applies migrations) and waits until it can take writes. */
  start(): Promise<void> {
    if (this.ready === null) this.ready = this.spawn();
    return this.ready;
  }

  /** The writer's backlog right now. */
  pendingWrites(): PendingWrites {
    return { queued: this.queued, urgent: this.pending.size - this.queued, limit: this.options.maxPending };
  }

  call<K extends WriteOp>(op: K, args: WriteArgs<K>): Promise<WriteResult<K>> {
    const urgent = URGENT_WRITES.has(op);
    if (this.closing) return Promise.reject(unavailable('Store is closing'));
    if (!urgent && this.queued >= this.options.maxPending) return Promise.reject(unavailable('Too many writes waiting for a commit'));
    if (this.port === null) {
      // The thread died; bring it back for this and later writes.
      return this.start().then(() => this.call(op, args));
    }
    const id = this.nextId++;
    return new Promise<WriteResult<K>>((resolve, reject) => {
      const deadline = Date.now() + this.options.timeoutMs;
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject, deadline, urgent });
      if (!urgent) this.queued += 1;
      this.outgoing.push({ id, op, args, deadline, urgent });
      if (this.atWriter === 0) {
        this.flush();
      } else if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Asks the thread to checkpoint after what it has queued (main-thread ingest, see main-ingest.ts). */
  requestCheckpoint(): void {
    this.port?.postMessage({ type: 'checkpoint' } satisfies MainToWriter);
  }

  /** Waits for pending writes (bounded by the write timeout), then closes the thread. */
  async close(): Promise<void> {
    this.closing = true;
    clearInterval(this.sweeper);
    const deadline = Date.now() + this.options.timeoutMs;
    while (this.pending.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    this.rejectAll('Store closed');
    const worker = this.worker;
    if (worker === null || this.port === null) return;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    this.port.postMessage({ type: 'close' } satisfies MainToWriter);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([exited, new Promise((resolve) => (timer = setTimeout(resolve, 2000)))]);
    clearTimeout(timer);
    await worker.terminate();
  }

  /** Removes a write from the books and returns it (undefined when already answered). */
  private take(id: number): Pending | undefined {
    const waiting = this.pending.get(id);
    if (waiting === undefined) return undefined;
    this.pending.delete(id);
    if (!waiting.urgent) this.queued -= 1;
    return waiting;
  }

  /**
   * Hands what gathered to the thread. Runs from a timer and from the reply handler, so it never
   * throws: structured clone refuses some values (too deep, not cloneable) with an exception, and
   * then only the offending writes fail; `atWriter` counts exactly what the thread received.
   */
  private flush(): void {
    this.flushScheduled = false;
    const port = this.port;
    if (this.outgoing.length === 0 || port === null) return;
    // Writes already answered 503 by the sweeper are dropped, never committed behind the caller's back.
    const requests = this.outgoing.filter((request) => this.pending.has(request.id));
    this.outgoing = [];
    if (requests.length === 0) return;
    try {
      port.postMessage({ type: 'batch', requests } satisfies MainToWriter);
      this.atWriter += requests.length;
      return;
    } catch {
      // One of them cannot be cloned: send them one by one to find it.
    }
    for (const request of requests) {
      try {
        port.postMessage({ type: 'batch', requests: [request] } satisfies MainToWriter);
        this.atWriter += 1;
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        this.take(request.id)?.reject(new HookflowError('HOOKFLOW_ERR_INTERNAL', `Write "${request.op}" could not be handed to the SQLite writer: ${message}`, { cause: error }));
      }
    }
  }

  private spawn(): Promise<void> {
    const { port1, port2 } = new MessageChannel();
    const worker = startThread(new URL('./writer-thread.js', import.meta.url), {
      workerData: { port: port2, options: this.pickThreadOptions() },
      transferList: [port2],
    });
    this.worker = worker;
    return new Promise<void>((resolve, reject) => {
      let started = false;
      port1.on('message', (message: WriterToMain) => {
        if (message.type === 'ready') {
          started = true;
          this.port = port1;
          resolve();
        } else if (message.type === 'results') {
          this.atWriter = Math.max(0, this.atWriter - message.responses.length);
          this.settle(message.responses);
          // A commit ended: hand over what gathered meanwhile without waiting for the turn to end.
          this.flush();
        } else if (message.type === 'fatal') {
          reject(new HookflowError('HOOKFLOW_ERR_STORAGE_UNAVAILABLE', `SQLite writer failed to start: ${message.message}`));
        }
      });
      worker.on('error', (error) => {
        if (!started) reject(new HookflowError('HOOKFLOW_ERR_STORAGE_UNAVAILABLE', 'SQLite writer failed to start', { cause: error }));
      });
      worker.on('exit', () => {
        port1.close();
        // A thread that died in a checkpoint cannot release the WAL lock itself.
        if (this.options.walLock !== undefined) Atomics.compareExchange(new Int32Array(this.options.walLock), 0, WAL_LOCK.writer, WAL_LOCK.free);
        if (this.worker === worker) {
          this.atWriter = 0;
          this.worker = null;
          this.port = null;
          this.ready = null;
        }
        this.rejectAll('SQLite writer stopped');
      });
    });
  }

  private pickThreadOptions(): WriterThreadOptions {
    const { file, synchronous, busyTimeoutMs, maxBatch, probeFile, walLock } = this.options;
    return { file, synchronous, busyTimeoutMs, maxBatch, probeFile, walLock };
  }

  private settle(responses: WriteResponse[]): void {
    for (const response of responses) {
      const waiting = this.take(response.id);
      if (waiting === undefined) continue; // already answered 503 by the sweeper
      if (response.ok) waiting.resolve(response.value);
      else waiting.reject(deserialize(response.error));
    }
  }

  private expireOverdue(): void {
    const now = Date.now();
    // Map iteration follows insertion order, which is deadline order.
    for (const [id, waiting] of this.pending) {
      if (waiting.deadline > now) break;
      this.take(id);
      waiting.reject(unavailable('Commit did not finish in time'));
    }
  }

  private rejectAll(reason: string): void {
    for (const waiting of this.pending.values()) waiting.reject(unavailable(reason));
    this.pending.clear();
    this.queued = 0;
    this.outgoing = [];
  }
}

function unavailable(message: string, cause?: unknown): HookflowError {
  return new HookflowError('HOOKFLOW_ERR_STORAGE_UNAVAILABLE', message, { transient: true, cause });
}

function deserialize(error: SerializedError): HookflowError {
  // The driver's code rides along as the cause, so /readyz can name the cause ("disk full").
  if (error.storage) return unavailable(`Storage error: ${error.message}`, Object.assign(new Error(error.message), { code: error.code }));
  if (error.code !== undefined && error.code in ERRORS) return new HookflowError(error.code as ErrorCode, error.message);
  return new HookflowError('HOOKFLOW_ERR_INTERNAL', error.message);
}
