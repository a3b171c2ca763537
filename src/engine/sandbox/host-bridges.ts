import type { QuickJSContext, QuickJSHandle, VmCallResult } from 'quickjs-emscripten-core';
import { isVariableName } from '../templates.js';

/** Per-run state the bridges read and fill; owned by one `runScript` call. */
export interface BridgeState {
  /** The run's memory as given by the caller; never mutated. */
  readonly memory: Readonly<Record<string, unknown>>;
  /** Values saved by the script, with their JSON text so a later `load` needs no re-encoding. */
  readonly saved: Map<string, { readonly value: unknown; readonly text: string }>;
  /** JSON text of memory values already loaded in this run. */
  readonly loadCache: Map<string, string>;
  /** Captured console lines. */
  readonly logs: string[];
  /** UTF-8 bytes of console output still allowed. */
  logBytesLeft: number;
  /** Whether some console output was dropped. */
  logTruncated: boolean;
  /** A host-side failure inside a bridge (a bug or an engine fault), kept so the run fails with it as cause. */
  hostFailure?: unknown;
}

const LOG_PREFIX: Readonly<Record<string, string>> = { log: '', info: '[info] ', warn: '[warn] ', error: '[error] ' };

/** An error for the guest: only a name and a message cross over, never a host stack trace. */
class GuestError extends Error {}

function quote(name: string): string {
  return JSON.stringify(name.length > 64 ? `${name.slice(0, 64)}…` : name);
}

function loadText(state: BridgeState, name: string): string | undefined {
  const saved = state.saved.get(name);
  if (saved !== undefined) return saved.text;
  if (!Object.hasOwn(state.memory, name)) return undefined;
  let text = state.loadCache.get(name);
  if (text === undefined) {
    try {
      text = JSON.stringify(state.memory[name]);
    } catch {
      text = undefined;
    }
    if (text === undefined) throw new GuestError(`memory.load: the value of ${quote(name)} is not JSON`);
    state.loadCache.set(name, text);
  }
  return text;
}

function save(state: BridgeState, name: string, text: string): void {
  // `__proto__` matches the variable rule but would set a prototype wherever the saved
  // record is later merged by assignment; no workflow needs that name.
  if (!isVariableName(name) || name === '__proto__') {
    throw new GuestError(`memory.save: invalid variable name ${quote(name)} (must match ^[A-Za-z_][A-Za-z0-9_]*$)`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new GuestError(`memory.save: the value for ${quote(name)} is not JSON`);
  }
  state.saved.set(name, { value, text });
  state.loadCache.delete(name);
}

function log(state: BridgeState, level: string, text: string): void {
  if (state.logBytesLeft <= 0) {
    state.logTruncated = true;
    return;
  }
  const line = (LOG_PREFIX[level] ?? '') + text;
  const bytes = Buffer.byteLength(line);
  if (bytes <= state.logBytesLeft) {
    state.logs.push(line);
    state.logBytesLeft -= bytes;
    return;
  }
  // Cutting UTF-8 mid-character leaves a replacement character; drop it.
  state.logs.push(Buffer.from(line).subarray(0, state.logBytesLeft).toString('utf8').replace(/\uFFFD$/, ''));
  state.logBytesLeft = 0;
  state.logTruncated = true;
}

function stringArg(context: QuickJSContext, handle: QuickJSHandle | undefined): string | undefined {
  return handle !== undefined && context.typeof(handle) === 'string' ? context.getString(handle) : undefined;
}

/**
 * Host functions must never throw: quickjs-emscripten would copy a host error, stack trace
 * included, into the guest. Expected failures become guest TypeErrors with our message only.
 */
function guarded(
  context: QuickJSContext,
  state: BridgeState,
  what: string,
  body: (...args: QuickJSHandle[]) => QuickJSHandle | undefined,
): (...args: QuickJSHandle[]) => QuickJSHandle | VmCallResult<QuickJSHandle> | undefined {
  return (...args) => {
    try {
      return body(...args);
    } catch (error) {
      if (!(error instanceof GuestError)) state.hostFailure ??= error;
      const message = error instanceof GuestError ? error.message : `${what} failed`;
      return { error: context.newError({ name: 'TypeError', message }) };
    }
  };
}

/**
 * The three host functions the guest prelude closes over, in its parameter order:
 * `hostLoad(name) → JSON text | undefined`, `hostSave(name, jsonText)`, `hostLog(level, line)`.
 * The caller owns (and must dispose) the returned handles.
 */
export function createBridges(context: QuickJSContext, state: BridgeState): QuickJSHandle[] {
  const hostLoad = guarded(context, state, 'memory.load', (nameHandle) => {
    const name = stringArg(context, nameHandle);
    const text = name === undefined ? undefined : loadText(state, name);
    return text === undefined ? undefined : context.newString(text);
  });
  const hostSave = guarded(context, state, 'memory.save', (nameHandle, textHandle) => {
    const name = stringArg(context, nameHandle);
    if (name === undefined) throw new GuestError('memory.save: the name must be a string');
    const text = stringArg(context, textHandle);
    if (text === undefined) throw new GuestError(`memory.save: the value for ${quote(name)} is not JSON`);
    save(state, name, text);
    return undefined;
  });
  const hostLog = guarded(context, state, 'console', (levelHandle, lineHandle) => {
    // Once the budget is spent, skip copying the guest's string out of WASM at all.
    if (state.logBytesLeft <= 0) {
      state.logTruncated = true;
      return undefined;
    }
    log(state, stringArg(context, levelHandle) ?? 'log', stringArg(context, lineHandle) ?? '');
    return undefined;
  });
  return [
    context.newFunction('hostLoad', hostLoad),
    context.newFunction('hostSave', hostSave),
    context.newFunction('hostLog', hostLog),
  ];
}
