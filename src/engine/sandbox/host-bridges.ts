import type { QuickJSContext, QuickJSHandle, VmCallResult } from 'quickjs-emscripten-core';
import { isVariableName } from '../templates.js';
import {
  CAPTURED_BUILTIN_NAMES,
  CAPTURED_BUILTINS,
  GUEST_FORMAT_HELPERS,
  GUEST_HELPERS_FILENAME,
  GUEST_JSON_HELPERS,
} from './guest-prelude.js';

/** Per-run state the bridges read and fill; owned by one `runScript` call. */
export interface BridgeState {
  /** The run's memory as given by the caller; never mutated. */
  readonly memory: Readonly<Record<string, unknown>>;
  /** Values saved by the script, with their JSON text so a later `load` needs no re-encoding. */
  readonly saved: Map<string, { readonly value: unknown; readonly text: string }>;
  /** JSON text of memory values already loaded in this run, or given as text by the caller. */
  readonly loadCache: Map<string, string>;
  /** Captured console lines. */
  readonly logs: string[];
  /** UTF-8 bytes of console output still allowed. */
  logBytesLeft: number;
  /** Whether some console output was dropped. */
  logTruncated: boolean;
  /**
   * Characters of saved JSON text still allowed. Saved values live on the host, outside the
   * QuickJS heap and its limit, so they get a budget of their own: the script's memory limit.
   */
  savedCharsLeft: number;
  /**
   * True once the run is past its deadline. QuickJS polls its interrupt handler only while
   * guest code runs, so host calls check it too: a loop of `memory.load` calls, each spending
   * its time on the host, must not outlive the limit.
   */
  readonly pastDeadline: () => boolean;
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
  let text = state.loadCache.get(name);
  if (text === undefined && !Object.hasOwn(state.memory, name)) return undefined;
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
  const replacedChars = state.saved.get(name)?.text.length ?? 0;
  if (text.length - replacedChars > state.savedCharsLeft) {
    throw new GuestError(`memory.save: saved values would exceed the script's memory limit (saving ${quote(name)})`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new GuestError(`memory.save: the value for ${quote(name)} is not JSON`);
  }
  state.savedCharsLeft -= text.length - replacedChars;
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

/** A guest call's outcome; on success the value handle, on failure the thrown value's handle. */
export type GuestResult = VmCallResult<QuickJSHandle>;

/** Registers a handle for disposal at the end of the run and returns it. */
type Own = (handle: QuickJSHandle) => QuickJSHandle;

type HostFunction = (...args: QuickJSHandle[]) => QuickJSHandle | GuestResult | undefined;

/**
 * Host functions must never throw: quickjs-emscripten would copy a host error, stack trace
 * included, into the guest. Expected failures become guest TypeErrors with our message only.
 */
function guarded(context: QuickJSContext, state: BridgeState, what: string, body: HostFunction): HostFunction {
  return (...args) => {
    try {
      if (state.pastDeadline()) throw new GuestError('Script timed out');
      return body(...args);
    } catch (error) {
      if (!(error instanceof GuestError)) state.hostFailure ??= error;
      const message = error instanceof GuestError ? error.message : `${what} failed`;
      return { error: context.newError({ name: 'TypeError', message }) };
    }
  };
}

/** Hands a guest call's result on as a host function's return value (consumed by quickjs-emscripten). */
function passOn(result: GuestResult): GuestResult {
  return result.error !== undefined ? { error: result.error } : { value: result.value };
}

/** What a run's output turned into: a host value, or the guest error that refused it. */
export type OutputResult = { ok: true; value: unknown } | { ok: false; error: QuickJSHandle };

/** The guest side of one run: the installed globals and the functions the host calls into. */
export interface Guest {
  /** `Function(code)`, with the context's own `Function` captured before the script ran. */
  compile(code: string): GuestResult;
  /** The script's result as a JSON-compatible host value (`undefined` becomes `null`). */
  output(value: QuickJSHandle): OutputResult;
  /** A thrown value as the JSON text failure-messages.ts parses, or `undefined` if it cannot be read. */
  describe(thrown: QuickJSHandle): string | undefined;
}

type HelperSet<Name extends string> = { readonly [K in Name]: QuickJSHandle };

/**
 * Installs the non-enumerable, read-only, frozen globals `memory` (`load`, `save`) and `console`
 * (`log`, `info`, `warn`, `error`) as host functions in a fresh context, before any guest code
 * has run, and captures the built-ins the host and the helpers rely on. Every handle it makes is
 * passed to `own`, so the caller disposes them. `maxLineChars` caps each console line before it
 * is copied out of WASM.
 */
export function installGuest(context: QuickJSContext, state: BridgeState, own: Own, maxLineChars: number): Guest {
  const global = context.global;
  const path = (names: readonly string[]): QuickJSHandle => {
    let handle = global;
    for (const name of names) handle = own(context.getProp(handle, name));
    return handle;
  };
  const functionCtor = path(['Function']);
  const parse = path(['JSON', 'parse']);
  const freeze = path(['Object', 'freeze']);
  const builtins = CAPTURED_BUILTIN_NAMES.map((name) => path(CAPTURED_BUILTINS[name]));
  const stringify = builtins[CAPTURED_BUILTIN_NAMES.indexOf('stringify')] ?? path(CAPTURED_BUILTINS.stringify);

  // Compiled at most once per run, on first use; a failed attempt (out of memory, the
  // deadline) is not cached, and its error becomes the caller's.
  const helpers = <Name extends string>(source: string, names: readonly Name[]) => {
    let loaded: HelperSet<Name> | undefined;
    return (): { value: HelperSet<Name>; error?: undefined } | { error: QuickJSHandle } => {
      if (loaded !== undefined) return { value: loaded };
      const factory = context.evalCode(source, GUEST_HELPERS_FILENAME, { type: 'global', strict: true });
      if (factory.error !== undefined) return { error: factory.error };
      const made = context.callFunction(own(factory.value), context.undefined, ...builtins);
      if (made.error !== undefined) return { error: made.error };
      const kit = own(made.value);
      const set: Partial<Record<Name, QuickJSHandle>> = {};
      // Own data properties of an object the factory just made: no getter can run.
      for (const name of names) set[name] = own(context.getProp(kit, name));
      loaded = set as HelperSet<Name>;
      return { value: loaded };
    };
  };
  const jsonHelpers = helpers(GUEST_JSON_HELPERS, ['toJson', 'saveText']);
  const formatHelpers = helpers(GUEST_FORMAT_HELPERS, ['line', 'describe']);

  const call = (fn: QuickJSHandle, ...args: QuickJSHandle[]): GuestResult => context.callFunction(fn, context.undefined, ...args);
  const callWithString = (fn: QuickJSHandle, text: string): GuestResult => {
    const arg = context.newString(text);
    try {
      return call(fn, arg);
    } finally {
      arg.dispose();
    }
  };

  const readString = (handle: QuickJSHandle): string | undefined => {
    try {
      return stringArg(context, handle);
    } finally {
      handle.dispose();
    }
  };

  const memoryLoad = guarded(context, state, 'memory.load', (nameHandle) => {
    const name = stringArg(context, nameHandle);
    const text = name === undefined ? undefined : loadText(state, name);
    return text === undefined ? undefined : passOn(callWithString(parse, text));
  });
  const memorySave = guarded(context, state, 'memory.save', (nameHandle, valueHandle) => {
    const json = jsonHelpers();
    if (json.error !== undefined) return { error: json.error };
    const textResult = call(json.value.saveText, nameHandle ?? context.undefined, valueHandle ?? context.undefined);
    if (textResult.error !== undefined) return { error: textResult.error };
    // Disposed at once, not at the end of the run: a script may save in a loop.
    const text = readString(textResult.value);
    const name = stringArg(context, nameHandle);
    if (name === undefined) throw new GuestError('memory.save: the name must be a string');
    if (text === undefined) throw new GuestError(`memory.save: the value for ${quote(name)} is not JSON`);
    save(state, name, text);
    return undefined;
  });
  const maxLine = own(context.newNumber(maxLineChars));
  const logger = (level: string) =>
    guarded(context, state, 'console', (...args) => {
      // Once the budget is spent, skip formatting and copying the guest's values at all.
      if (state.logBytesLeft <= 0) {
        state.logTruncated = true;
        return undefined;
      }
      const format = formatHelpers();
      if (format.error !== undefined) return { error: format.error };
      const line = call(format.value.line, maxLine, ...args);
      if (line.error !== undefined) return { error: line.error };
      log(state, level, readString(line.value) ?? '');
      return undefined;
    });

  const frozenObject = (members: Record<string, HostFunction>): QuickJSHandle => {
    const object = own(context.newObject());
    for (const [name, fn] of Object.entries(members)) context.setProp(object, name, own(context.newFunction(name, fn)));
    const frozen = call(freeze, object);
    if (frozen.error !== undefined) {
      own(frozen.error);
      throw new Error('Object.freeze failed in a fresh context');
    }
    own(frozen.value);
    return object;
  };
  // Without `writable`, QuickJS defines the property read-only; it is also non-configurable.
  context.defineProp(global, 'memory', { value: frozenObject({ load: memoryLoad, save: memorySave }), enumerable: false, configurable: false });
  context.defineProp(global, 'console', {
    value: frozenObject({ log: logger('log'), info: logger('info'), warn: logger('warn'), error: logger('error') }),
    enumerable: false,
    configurable: false,
  });

  return {
    compile: (code) => callWithString(functionCtor, code),
    output(value) {
      // Primitives need no guest code (nor the JSON helpers compiled) to become JSON values.
      switch (context.typeof(value)) {
        case 'undefined':
          return { ok: true, value: null };
        case 'boolean':
          return { ok: true, value: context.sameValue(value, context.true) };
        case 'number': {
          const number = context.getNumber(value);
          // As JSON.stringify: non-finite numbers become null, -0 becomes 0.
          return { ok: true, value: Number.isFinite(number) ? number + 0 : null };
        }
        case 'string': {
          // JSON.stringify runs no guest code for a primitive string (no toJSON, no replacer),
          // and going through JSON text keeps lone surrogates exactly as the helpers would.
          const text = call(stringify, value);
          if (text.error !== undefined) return { ok: false, error: text.error };
          return { ok: true, value: JSON.parse(context.getString(own(text.value))) as unknown };
        }
        default: {
          if (context.sameValue(value, context.null)) return { ok: true, value: null };
          const json = jsonHelpers();
          if (json.error !== undefined) return { ok: false, error: json.error };
          const text = call(json.value.toJson, value);
          if (text.error !== undefined) return { ok: false, error: text.error };
          return { ok: true, value: JSON.parse(context.getString(own(text.value))) as unknown };
        }
      }
    },
    describe(thrown) {
      const format = formatHelpers();
      if (format.error !== undefined) {
        own(format.error);
        return undefined;
      }
      const described = call(format.value.describe, thrown);
      if (described.error !== undefined) {
        own(described.error);
        return undefined;
      }
      return stringArg(context, own(described.value));
    },
  };
}
