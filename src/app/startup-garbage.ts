import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * Start-up (migrations, the OpenAPI document, compiling every module) leaves some 30 MB of
 * garbage and a grown young generation in V8's heap. An idle server allocates too little to
 * ever start a full collection, and V8's memory reducer, which shrinks the heap, only starts
 * after one: so the process would hold it for as long as it idles. A memory-reducing full
 * collection once the process is up gives it back (docs/operations.md "Idle footprint").
 *
 * The collector is reached the way jest's leak detector does: `--expose-gc` set for one new
 * context, which yields `gc`, and unset again, so no other code sees a global `gc`.
 */
function fullCollector(): ((options: GcOptions) => void) | undefined {
  try {
    setFlagsFromString('--expose-gc');
    const gc: unknown = runInNewContext('gc');
    return typeof gc === 'function' ? (gc as (options: GcOptions) => void) : undefined;
  } catch {
    return undefined;
  } finally {
    setFlagsFromString('--no-expose-gc');
  }
}

/** V8's gc extension: `last-resort` is the full collection that also shrinks the heap (memory-reducing). */
interface GcOptions {
  type: 'major';
  execution: 'sync';
  flavor: 'last-resort';
}

/**
 * Runs a memory-reducing full collection after `delayMs` and again after three times that (in
 * case start-up work was still under way the first time). Never keeps the process alive;
 * returns a cancel.
 */
export function collectStartupGarbage(delayMs: number): () => void {
  const collect = (): void => fullCollector()?.({ type: 'major', execution: 'sync', flavor: 'last-resort' });
  const timers = [delayMs, 3 * delayMs].map((ms) => setTimeout(collect, ms).unref());
  return () => {
    for (const timer of timers) clearTimeout(timer);
  };
}
