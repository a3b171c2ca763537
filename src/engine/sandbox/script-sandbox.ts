import type { QuickJSContext, QuickJSHandle, QuickJSRuntime } from 'quickjs-emscripten-core';
import { HookflowError } from '../../errors/catalogue.js';
import { installGuest, type BridgeState, type Guest } from './host-bridges.js';
import { failureMessage, parseThrown, type FailureKind, type Thrown } from './failure-messages.js';
import { acquireModule, discardModule, MAX_MEMORY_LIMIT_BYTES, type SandboxModule } from './quickjs-modules.js';

/** What a script step asks the sandbox to run. */
export interface ScriptRunOptions {
  /**
   * The script body, compiled as a function body (so `return` works). It may return a promise,
   * which is awaited inside the sandbox; top-level `await` is not supported (wrap it in an
   * async function and return its promise).
   */
  code: string;
  /** The run's memory (JSON-compatible values), readable through `memory.load(name)`. */
  memory: Readonly<Record<string, unknown>>;
  /**
   * Memory variables given as their JSON text instead (they win over `memory`). A text crosses
   * to a script thread as one flat string, where a value would be cloned object by object, and
   * `memory.load` needs the text anyway. Default none.
   */
  memoryJson?: Readonly<Record<string, string>>;
  /** Wall-clock limit in milliseconds, from the script's start until its result settles. */
  timeoutMs: number;
  /**
   * Memory limit in bytes, 1 MiB to 1 GiB. QuickJS enforces it per allocation; the total is
   * enforced by the WASM module's memory ceiling, so in practice a script gets about
   * max(11 MiB, the limit rounded up to a power of two) — see quickjs-modules.ts for why.
   */
  memoryLimitBytes: number;
  /** Cap on captured console output, in UTF-8 bytes; default 64 KiB (DEFAULT_MAX_LOG_BYTES). */
  maxLogBytes?: number;
}

/** What a script produced. */
export interface ScriptRunResult {
  /** The return value (JSON-compatible; `undefined` becomes `null`). */
  output: unknown;
  /** `memory.save(name, value)` calls: first-save order, last value wins. */
  saved: Record<string, unknown>;
  /** One entry per console call; `info`/`warn`/`error` lines are prefixed `[info] ` etc. */
  logs: string[];
}

/** Default cap on captured console output: 64 KiB. */
export const DEFAULT_MAX_LOG_BYTES = 64 * 1024;

/** Smallest accepted `memoryLimitBytes` (1 MiB): below it even an empty context may not fit. */
export const MIN_MEMORY_LIMIT_BYTES = 1024 * 1024;

// WASM frames also live on Node's native stack, at roughly twice the QuickJS stack bytes:
// at 512 KiB Node's own ~1 MB stack overflows first, mid-QuickJS, and corrupts the module.
// 256 KiB allows ~1,400 plain recursive calls and keeps QuickJS's clean "stack overflow".
const MAX_STACK_BYTES = 256 * 1024;

function sandboxError(message: string, cause?: unknown): HookflowError {
  return new HookflowError('HOOKFLOW_ERR_SANDBOX', message, cause === undefined ? {} : { cause });
}

function checkOptions(options: ScriptRunOptions): Required<ScriptRunOptions> {
  const { code, memory, memoryJson = {}, timeoutMs, memoryLimitBytes, maxLogBytes = DEFAULT_MAX_LOG_BYTES } = options;
  if (typeof code !== 'string') throw sandboxError('Script code must be a string');
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw sandboxError(`Script timeoutMs must be a positive number, got ${String(timeoutMs)}`);
  }
  if (
    !Number.isSafeInteger(memoryLimitBytes) ||
    memoryLimitBytes < MIN_MEMORY_LIMIT_BYTES ||
    memoryLimitBytes > MAX_MEMORY_LIMIT_BYTES
  ) {
    throw sandboxError(
      `Script memoryLimitBytes must be an integer from ${MIN_MEMORY_LIMIT_BYTES} to ${MAX_MEMORY_LIMIT_BYTES}, got ${String(memoryLimitBytes)}`,
    );
  }
  if (!Number.isSafeInteger(maxLogBytes) || maxLogBytes < 0) {
    throw sandboxError(`Script maxLogBytes must be a non-negative integer, got ${String(maxLogBytes)}`);
  }
  return { code, memory, memoryJson, timeoutMs, memoryLimitBytes, maxLogBytes };
}

/**
 * Runs a user script in a fresh QuickJS runtime and context (nothing carries over between
 * runs) inside WebAssembly: no `process`, `require`, `import()`, timers, network or file
 * system; only `memory.load/save`, `console.log/info/warn/error` and the standard built-ins.
 *
 * Blocks the Node event loop while the script runs (up to `timeoutMs`): the QuickJS build is
 * synchronous. Callers needing a responsive loop under long scripts should run this in a
 * worker thread.
 *
 * @throws HookflowError HOOKFLOW_ERR_SANDBOX (permanent) when the options are invalid, the
 *   script times out, exceeds its memory or stack, throws, has a syntax error, returns a
 *   non-JSON value, or the engine fails.
 */
export async function runScript(options: ScriptRunOptions): Promise<ScriptRunResult> {
  const settings = checkOptions(options);
  let sandboxModule: SandboxModule;
  try {
    sandboxModule = await acquireModule(settings.memoryLimitBytes);
    if (sandboxModule.broken) sandboxModule = await acquireModule(settings.memoryLimitBytes);
  } catch (error) {
    throw sandboxError('Script sandbox could not be loaded', error);
  }
  // Invariant: no `await` from here on. The module's memory ceiling is a per-run limit only
  // while a single runtime is alive in it, and the run starts on a fresh microtask, so its
  // native stack use does not depend on the caller's depth.
  return runInModule(sandboxModule, settings);
}

function disposeQuietly(target: { alive: boolean; dispose(): void }, sandboxModule: SandboxModule): void {
  try {
    if (target.alive) target.dispose();
  } catch {
    // A failed free (QuickJS asserts its GC lists are empty) leaves the instance suspect.
    discardModule(sandboxModule);
  }
}

function runInModule(sandboxModule: SandboxModule, settings: Required<ScriptRunOptions>): ScriptRunResult {
  const deadline = Date.now() + settings.timeoutMs;
  const run: RunControl = {
    sandboxModule,
    settings,
    interrupted: false,
    timedOut: () => run.interrupted || Date.now() >= deadline,
  };
  sandboxModule.growRefused = false;
  let runtime: QuickJSRuntime | undefined;
  try {
    runtime = sandboxModule.quickjs.newRuntime({
      memoryLimitBytes: settings.memoryLimitBytes,
      maxStackSizeBytes: MAX_STACK_BYTES,
      interruptHandler: () => {
        if (Date.now() >= deadline) run.interrupted = true;
        return run.interrupted;
      },
    });
    const context = runtime.newContext();
    try {
      return execute(run, runtime, context);
    } finally {
      disposeQuietly(context, sandboxModule);
    }
  } catch (error) {
    if (error instanceof HookflowError) throw error;
    // Only the engine itself throws host errors here (an Emscripten abort, Node's stack
    // overflowing inside WASM): the instance may be corrupt, so never reuse it.
    discardModule(sandboxModule);
    if (run.timedOut()) throw sandboxError(`Script timed out after ${settings.timeoutMs} ms`, error);
    if (sandboxModule.growRefused) throw sandboxError('Script exceeded memory limit', error);
    if (error instanceof RangeError) throw sandboxError('Script exceeded the maximum call stack size', error);
    throw sandboxError('Script sandbox failed unexpectedly', error);
  } finally {
    if (runtime !== undefined) disposeQuietly(runtime, sandboxModule);
  }
}

interface RunControl {
  readonly sandboxModule: SandboxModule;
  readonly settings: Required<ScriptRunOptions>;
  interrupted: boolean;
  timedOut(): boolean;
}

type Fail = (kind: FailureKind, errorHandle: QuickJSHandle) => HookflowError;

function execute(run: RunControl, runtime: QuickJSRuntime, context: QuickJSContext): ScriptRunResult {
  const handles: QuickJSHandle[] = [];
  const own = (handle: QuickJSHandle): QuickJSHandle => {
    handles.push(handle);
    return handle;
  };
  let guest: Guest | undefined;
  const state: BridgeState = {
    memory: run.settings.memory,
    saved: new Map(),
    // Texts the caller gave are loaded as they are.
    loadCache: new Map(Object.entries(run.settings.memoryJson)),
    logs: [],
    logBytesLeft: run.settings.maxLogBytes,
    logTruncated: false,
    savedCharsLeft: run.settings.memoryLimitBytes,
    pastDeadline: () => {
      // Once past, for good: QuickJS's next interrupt poll then stops the guest, even one that
      // caught the bridge's error.
      if (run.timedOut()) run.interrupted = true;
      return run.interrupted;
    },
  };

  // Describing runs guest code (an error's getters), so it too is bounded by the deadline.
  const readThrown = (errorHandle: QuickJSHandle): Thrown | undefined => {
    const text = guest?.describe(errorHandle);
    return text === undefined ? undefined : parseThrown(text);
  };
  const fail: Fail = (kind, errorHandle) => {
    own(errorHandle);
    // Rethrown raw, so runInModule reports an engine failure with it as the cause.
    if (state.hostFailure !== undefined) throw state.hostFailure;
    if (run.timedOut()) return timeoutError(run);
    return sandboxError(failureMessage(kind, readThrown(errorHandle), run.sandboxModule.growRefused));
  };

  try {
    // No guest code has run yet: what installGuest captures from the context is pristine.
    guest = installGuest(context, state, own, run.settings.maxLogBytes);
    const compiled = guest.compile(run.settings.code);
    if (compiled.error !== undefined) throw fail('compile', compiled.error);
    const called = context.callFunction(own(compiled.value), context.undefined);
    if (called.error !== undefined) throw fail('run', called.error);
    const result = settle(run, runtime, context, own(called.value), own, fail);

    const output = guest.output(result);
    if (!output.ok) throw fail('output', output.error);
    if (state.hostFailure !== undefined) throw state.hostFailure;
    // A script that caught the timeout of a host call and returned anyway still ran too long.
    if (run.timedOut()) throw timeoutError(run);
    // Likewise one that ran out of memory, whatever the promise state: the error may have
    // rejected a promise nobody awaited, or been caught. Emscripten grows the heap by at most
    // 20% at a time, so a refused grow means the heap was already past the script's limit.
    if (run.sandboxModule.growRefused) throw sandboxError('Script exceeded memory limit');
    return { output: output.value, saved: savedRecord(state), logs: finishLogs(state, run.settings.maxLogBytes) };
  } finally {
    for (const handle of handles.reverse()) disposeQuietly(handle, run.sandboxModule);
  }
}

function timeoutError(run: RunControl): HookflowError {
  return sandboxError(`Script timed out after ${run.settings.timeoutMs} ms`);
}

/** Resolves a returned promise by running QuickJS's job queue, then drains leftover jobs. */
function settle(
  run: RunControl,
  runtime: QuickJSRuntime,
  context: QuickJSContext,
  value: QuickJSHandle,
  own: (handle: QuickJSHandle) => QuickJSHandle,
  fail: Fail,
): QuickJSHandle {
  for (;;) {
    const state = context.getPromiseState(value);
    if (state.type === 'rejected') throw fail('run', state.error);
    if (state.type === 'fulfilled') {
      // For a non-promise, `state.value` is `value` itself and must not be owned twice.
      const settled = state.notAPromise === true ? value : own(state.value);
      drainJobs(run, runtime, fail);
      return settled;
    }
    if (run.timedOut()) throw timeoutError(run);
    // No host async functions exist, so with an empty job queue nothing can ever settle it;
    // failing now beats holding the worker until the deadline.
    if (!runtime.hasPendingJob()) {
      throw sandboxError('Script timed out: its promise can never settle (nothing left to run)');
    }
    const ran = runtime.executePendingJobs();
    if (ran.error !== undefined) throw fail('run', ran.error);
  }
}

/** Work the script queued but did not await (e.g. a `.then` that saves) still runs, within the deadline. */
function drainJobs(run: RunControl, runtime: QuickJSRuntime, fail: Fail): void {
  while (runtime.hasPendingJob()) {
    if (run.timedOut()) throw timeoutError(run);
    const ran = runtime.executePendingJobs();
    if (ran.error !== undefined) throw fail('run', ran.error);
  }
}

function savedRecord(state: BridgeState): Record<string, unknown> {
  const saved: Record<string, unknown> = {};
  // Names are validated (and `__proto__` refused) by the bridge, so assignment is safe.
  for (const [name, entry] of state.saved) saved[name] = entry.value;
  return saved;
}

function finishLogs(state: BridgeState, maxLogBytes: number): string[] {
  if (state.logTruncated) state.logs.push(`[hookflow] console output truncated at ${maxLogBytes} bytes`);
  return state.logs;
}
