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
}

/** Runs scripts on worker threads, so a script's CPU time never stalls the HTTP event loop. */
export interface ScriptPool {
  run(options: ScriptRunOptions): Promise<ScriptRunResult>;
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
  task: Task | null;
  watchdog: NodeJS.Timeout | null;
}

/** Starts `threads` script threads; tasks beyond them wait in order. */
export function createScriptPool(options: ScriptPoolOptions): ScriptPool {
  const grace = options.watchdogGraceMs ?? 2000;
  const waiting: Task[] = [];
  const slots: Slot[] = [];
  let nextId = 1;
  let closed = false;

  function spawn(): Slot {
    const slot: Slot = { worker: startThread(new URL('./script-thread.js', import.meta.url), {}), task: null, watchdog: null };
    slot.worker.unref();
    slot.worker.on('message', (reply: ScriptThreadReply) => {
      const task = slot.task;
      if (task === null || task.id !== reply.id) return;
      finish(slot);
      if (reply.ok) task.resolve(reply.result);
      else task.reject(new HookflowError(toCode(reply.error.code), reply.error.message, { transient: reply.error.transient }));
      dispatch();
    });
    slot.worker.on('error', (error) => replace(slot, new HookflowError('HOOKFLOW_ERR_SANDBOX', `Script thread failed: ${error.message}`, { cause: error })));
    slot.worker.on('exit', () => replace(slot, new HookflowError('HOOKFLOW_ERR_SANDBOX', 'Script thread stopped')));
    return slot;
  }

  function finish(slot: Slot): void {
    if (slot.watchdog !== null) clearTimeout(slot.watchdog);
    slot.watchdog = null;
    slot.task = null;
  }

  /** A thread that died or hung: fail its task, start a fresh thread in its place. */
  function replace(slot: Slot, error: HookflowError): void {
    const index = slots.indexOf(slot);
    if (index === -1) return;
    const task = slot.task;
    finish(slot);
    slots.splice(index, 1);
    void slot.worker.terminate();
    task?.reject(error);
    if (!closed) {
      slots.push(spawn());
      dispatch();
    }
  }

  function dispatch(): void {
    for (const slot of slots) {
      if (slot.task !== null) continue;
      const task = waiting.shift();
      if (task === undefined) return;
      slot.task = task;
      slot.watchdog = setTimeout(
        () => replace(slot, new HookflowError('HOOKFLOW_ERR_SANDBOX', `Script timed out after ${task.options.timeoutMs} ms (thread replaced)`)),
        task.options.timeoutMs + grace,
      );
      slot.worker.postMessage({ id: task.id, options: task.options });
    }
  }

  for (let i = 0; i < Math.max(1, options.threads); i++) slots.push(spawn());

  return {
    run(runOptions) {
      if (closed) return Promise.reject(new HookflowError('HOOKFLOW_ERR_SANDBOX', 'Script pool is closed', { transient: true }));
      return new Promise<ScriptRunResult>((resolve, reject) => {
        // Only plain data crosses to the thread: the memory snapshot is structured-cloned.
        waiting.push({ id: nextId++, options: { ...runOptions, memory: { ...runOptions.memory } }, resolve, reject });
        dispatch();
      });
    },
    async close() {
      closed = true;
      for (const task of waiting.splice(0)) task.reject(new HookflowError('HOOKFLOW_ERR_SANDBOX', 'Script pool closed', { transient: true }));
      await Promise.all(slots.splice(0).map((slot) => slot.worker.terminate()));
    },
  };
}

function toCode(code: string): ErrorCode {
  return code in ERRORS ? (code as ErrorCode) : 'HOOKFLOW_ERR_SANDBOX';
}
