import type { Worker } from 'node:worker_threads';
import { ERRORS, HookflowError, type ErrorCode } from '../../errors/catalogue.js';
import { startThread } from '../../util/start-thread.js';
import type { ScriptRunOptions, ScriptRunResult } from './script-sandbox.js';

/** What a script thread answers. */
export type ScriptThreadReply =
  | { id: number; ok: true; result: ScriptRunResult }
  | { id: number; ok: false; error: { code: string; message: string; transient: boolean } };

export interface ScriptPoolOptions {
  /** Threads running scripts at once. */
  threads: number;
  /**
   * Extra time past a script's own limit before its thread is presumed stuck and replaced, ms.
   * The sandbox enforces the limit itself; this is the backstop.
   */
  watchdogGraceMs?: number;
  /**
   * Scripts handed to one thread before its earlier ones answered (default 2). A thread then
   * starts its next script the moment one ends instead of idling until the main thread, busy
   * with HTTP, reads the answer and sends more. Deeper queues wait behind a slow script.
   */
  tasksPerThread?: number;
  /** The thread's module (tests substitute one that hangs on demand); default script-thread.js. */
  threadModule?: URL;
  /**
   * A thread with nothing to run for this long stops, ms (default 60 000); the next script
   * starts one again. Threads start on first use, so a server without script steps has none.
   */
  idleMs?: number;
}

/** Runs scripts on worker threads, so a script's CPU time never stalls the HTTP event loop. */
export interface ScriptPool {
  run(options: ScriptRunOptions): Promise<ScriptRunResult>;
  /** Threads alive now (started on demand, stopped when idle). */
  threads(): number;
  close(): Promise<void>;
}

interface Task {
  id: number;
  options: ScriptRunOptions;
  resolve: (result: ScriptRunResult) => void;
  reject: (error: Error) => void;
}

interface Slot {
  worker: Worker;
  /** Tasks sent to this thread, in the order it runs them; the first is the one running. */
  sent: Task[];
  /** Armed for the running task only, once the thread is online. */
  watchdog: NodeJS.Timeout | null;
  /** Armed while the thread has nothing to run: it stops when this fires. */
  idle: NodeJS.Timeout | null;
  online: boolean;
}

/** Up to `threads` script threads, started on demand; tasks beyond what they hold wait in order. */
export function createScriptPool(options: ScriptPoolOptions): ScriptPool {
  const grace = options.watchdogGraceMs ?? 2000;
  const idleMs = options.idleMs ?? 60_000;
  const maxThreads = Math.max(1, options.threads);
  const tasksPerThread = Math.max(1, options.tasksPerThread ?? 2);
  const threadModule = options.threadModule ?? new URL('./script-thread.js', import.meta.url);
  const waiting: Task[] = [];
  const slots: Slot[] = [];
  let nextId = 1;
  let closed = false;

  function spawn(): Slot {
    const slot: Slot = { worker: startThread(threadModule, {}), sent: [], watchdog: null, idle: null, online: false };
    slot.worker.unref();
    // A thread's start-up (slow on a loaded machine) is not the script's time: the watchdog of a
    // task handed over before then starts when the thread does.
    slot.worker.once('online', () => {
      slot.online = true;
      armWatchdog(slot);
    });
    slot.worker.on('message', (reply: ScriptThreadReply) => {
      const task = slot.sent[0];
      if (task === undefined || task.id !== reply.id) return;
      slot.sent.shift();
      // The thread went straight on to its next task: time that one from now.
      armWatchdog(slot);
      if (slot.sent.length === 0 && waiting.length === 0) armIdle(slot);
      if (reply.ok) task.resolve(reply.result);
      else task.reject(new HookflowError(toCode(reply.error.code), reply.error.message, { transient: reply.error.transient }));
      dispatch();
    });
    slot.worker.on('error', (error) => replace(slot, new HookflowError('HOOKFLOW_ERR_SANDBOX', `Script thread failed: ${error.message}`, { cause: error })));
    slot.worker.on('exit', () => replace(slot, new HookflowError('HOOKFLOW_ERR_SANDBOX', 'Script thread stopped')));
    return slot;
  }

  function armWatchdog(slot: Slot): void {
    if (slot.watchdog !== null) clearTimeout(slot.watchdog);
    slot.watchdog = null;
    const running = slot.sent[0];
    if (running === undefined || !slot.online) return;
    slot.watchdog = setTimeout(
      () => replace(slot, new HookflowError('HOOKFLOW_ERR_SANDBOX', `Script timed out after ${running.options.timeoutMs} ms (thread replaced)`)),
      running.options.timeoutMs + grace,
    );
  }

  /** Stops `slot` after idleMs with nothing to run; removed first, so its exit starts no replacement. */
  function armIdle(slot: Slot): void {
    if (slot.idle !== null) clearTimeout(slot.idle);
    slot.idle = setTimeout(() => {
      slot.idle = null;
      const index = slots.indexOf(slot);
      if (index === -1 || slot.sent.length > 0) return;
      slots.splice(index, 1);
      void slot.worker.terminate();
    }, idleMs);
    slot.idle.unref();
  }

  /**
   * A thread that died or hung: fail the task it was running, give the ones queued behind it
   * back to the front of the line (they never started), start a fresh thread in its place.
   */
  function replace(slot: Slot, error: HookflowError): void {
    const index = slots.indexOf(slot);
    if (index === -1) return;
    if (slot.watchdog !== null) clearTimeout(slot.watchdog);
    if (slot.idle !== null) clearTimeout(slot.idle);
    const [running, ...notStarted] = slot.sent.splice(0);
    slots.splice(index, 1);
    void slot.worker.terminate();
    running?.reject(error);
    waiting.unshift(...notStarted);
    // A fresh thread (started by dispatch) only when work is waiting: an idle pool stays empty.
    if (!closed) dispatch();
  }

  /**
   * Hands waiting tasks to the least busy threads, up to `tasksPerThread` each, first starting a
   * thread while there is work, none is free and fewer than `threads` run.
   */
  function dispatch(): void {
    while (waiting.length > 0 && slots.length < maxThreads && !slots.some((slot) => slot.sent.length === 0)) slots.push(spawn());
    for (let depth = 0; depth < tasksPerThread && waiting.length > 0; depth++) {
      for (const slot of slots) {
        if (slot.sent.length !== depth) continue;
        const task = waiting.shift();
        if (task === undefined) return;
        try {
          // Structured clone throws on some values (too deep): that task fails, never the
          // process (dispatch also runs from a thread's message handler, where nothing catches).
          slot.worker.postMessage({ id: task.id, options: task.options });
        } catch (error) {
          task.reject(new HookflowError('HOOKFLOW_ERR_SANDBOX', `Script input could not be handed to a script thread: ${error instanceof Error ? error.message : String(error)}`, { cause: error }));
          continue;
        }
        slot.sent.push(task);
        if (slot.idle !== null) clearTimeout(slot.idle);
        slot.idle = null;
        if (slot.sent.length === 1) armWatchdog(slot);
      }
    }
  }

  return {
    run(runOptions) {
      if (closed) return Promise.reject(new HookflowError('HOOKFLOW_ERR_SANDBOX', 'Script pool is closed', { transient: true }));
      return new Promise<ScriptRunResult>((resolve, reject) => {
        // Only plain data crosses to the thread: the memory snapshot is structured-cloned.
        waiting.push({ id: nextId++, options: { ...runOptions, memory: { ...runOptions.memory } }, resolve, reject });
        dispatch();
      });
    },
    threads: () => slots.length,
    async close() {
      closed = true;
      for (const slot of slots) {
        if (slot.watchdog !== null) clearTimeout(slot.watchdog);
        if (slot.idle !== null) clearTimeout(slot.idle);
      }
      const unfinished = [...waiting.splice(0), ...slots.flatMap((slot) => slot.sent.splice(0))];
      for (const task of unfinished) task.reject(new HookflowError('HOOKFLOW_ERR_SANDBOX', 'Script pool closed', { transient: true }));
      await Promise.all(slots.splice(0).map((slot) => slot.worker.terminate()));
    },
  };
}

function toCode(code: string): ErrorCode {
  return code in ERRORS ? (code as ErrorCode) : 'HOOKFLOW_ERR_SANDBOX';
}
