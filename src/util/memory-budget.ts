import { getHeapStatistics } from 'node:v8';

/**
 * The process-wide budget for bytes in flight: webhook bodies being read and stored, the bodies
 * of runs being executed, HTTP/LLM answers being read. Each holder reserves what it will keep
 * in memory and releases it when done; a reservation that does not fit is refused, and the
 * caller sheds (a 503 for a webhook) or waits (a worker's next claim) instead of growing the
 * heap. The byte count is an estimate of what each holder keeps; the heap itself is the
 * backstop: past `heapFraction` of V8's heap limit the budget counts as full whatever the count
 * says, so an estimate that is too low still cannot push the process into an out-of-memory crash.
 */
export interface MemoryBudgetOptions {
  /** Bytes that may be reserved at once. */
  limitBytes: number;
  /** Fraction of V8's heap limit past which the budget counts as full (default 0.7). */
  heapFraction?: number;
  /** Heap in use, bytes (tests substitute their own); default V8's figure, sampled at most every 20 ms. */
  heapUsed?: () => number;
  /** V8's heap size limit, bytes (tests substitute their own). */
  heapLimit?: number;
}

/** A held part of the budget. `release` is idempotent. */
export interface Reservation {
  readonly bytes: number;
  /** Grows the reservation to `total` bytes if that fits; false (unchanged) if not. */
  growTo(total: number): boolean;
  release(): void;
}

const HEAP_SAMPLE_MS = 20;

/*
 * What one byte of a body costs while it is held, as charged to the budget. Measured with
 * `node --expose-gc` (heap growth per byte of JSON text): strings ~1×, objects ~2.6×, small
 * numbers ~4×, and worst cases (arrays of empty arrays) past 20×; the heap ceiling catches those.
 */
/** A webhook body while it is received and stored: the chunks, their concatenation, the text, the copy handed to the writer. */
export const INGEST_BYTES_PER_BODY_BYTE = 4;
/** A running run's body: the text read from storage and the value parsed from it (worse shapes: the heap ceiling). */
export const RUN_BYTES_PER_BODY_BYTE = 4;
/** An HTTP/LLM answer being read: the chunks, their concatenation, the text it is decoded to. */
export const ANSWER_BYTES_PER_BODY_BYTE = 3;

export class MemoryBudget {
  readonly limitBytes: number;
  private reserved = 0;
  private readonly heapCeiling: number;
  private readonly readHeap: () => number;
  private heapSample = 0;
  private heapSampledAt = -Infinity;
  private waiters: (() => void)[] = [];

  constructor(options: MemoryBudgetOptions) {
    this.limitBytes = options.limitBytes;
    const heapLimit = options.heapLimit ?? getHeapStatistics().heap_size_limit;
    this.heapCeiling = heapLimit * (options.heapFraction ?? 0.7);
    this.readHeap = options.heapUsed ?? (() => getHeapStatistics().used_heap_size);
  }

  /** Bytes reserved now. */
  get usedBytes(): number {
    return this.reserved;
  }

  /** True while the heap is past its ceiling (the budget then admits nothing new). */
  heapPressed(): boolean {
    const now = performance.now();
    if (now - this.heapSampledAt >= HEAP_SAMPLE_MS) {
      this.heapSample = this.readHeap();
      this.heapSampledAt = now;
    }
    return this.heapSample > this.heapCeiling;
  }

  /** True when nothing more can be reserved: the count is at its limit or the heap is pressed. */
  full(): boolean {
    return this.reserved >= this.limitBytes || this.heapPressed();
  }

  /** Reserves `bytes` if they fit, else null. Zero bytes always fit unless the heap is pressed. */
  tryReserve(bytes: number): Reservation | null {
    if (!this.fits(bytes)) return null;
    return this.hold(bytes);
  }

  /**
   * Reserves `bytes` whether they fit or not: for memory already taken (a run that was claimed),
   * so that the count stays true and later callers wait for it.
   */
  reserve(bytes: number): Reservation {
    return this.hold(bytes);
  }

  /** Resolves once something can be reserved again (or at once if it can now), or on abort. */
  whenRoom(signal?: AbortSignal): Promise<void> {
    if (!this.full() || signal?.aborted === true) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearInterval(poll);
        signal?.removeEventListener('abort', done);
        this.waiters = this.waiters.filter((waiter) => waiter !== check);
        resolve();
      };
      const check = (): void => {
        if (!this.full()) done();
      };
      // Releases wake waiters at once; the heap falls by garbage collection, which nothing
      // announces, so a slow poll covers that.
      const poll = setInterval(check, 100);
      poll.unref();
      signal?.addEventListener('abort', done, { once: true });
      this.waiters.push(check);
    });
  }

  private fits(bytes: number): boolean {
    return this.reserved + bytes <= this.limitBytes && !this.heapPressed();
  }

  private hold(initial: number): Reservation {
    this.reserved += initial;
    let held = initial;
    let released = false;
    const budget = this;
    return {
      get bytes() {
        return held;
      },
      growTo(total: number): boolean {
        if (released || total <= held) return !released;
        if (!budget.fits(total - held)) return false;
        budget.reserved += total - held;
        held = total;
        return true;
      },
      release(): void {
        if (released) return;
        released = true;
        budget.reserved -= held;
        budget.wakeWaiters();
      },
    };
  }

  private wakeWaiters(): void {
    for (const check of [...this.waiters]) check();
  }
}
