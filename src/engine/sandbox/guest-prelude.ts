/**
 * The little JavaScript the sandbox evaluates inside a QuickJS context besides the user's script.
 *
 * Compiling guest code is the costliest part of starting a run (QuickJS spends ~10–20 µs per
 * function it compiles), so nothing here is evaluated up front: `memory` and `console` are host
 * functions installed by host-bridges.ts, and the helpers below are compiled only in the runs
 * that need them — the JSON helpers on the first `memory.save` or non-primitive return value,
 * the format helpers on the first console call or when an error must be described.
 *
 * Each helper source is a factory that gets the built-ins it uses as arguments. The host takes
 * them from the fresh context *before* the user's script runs, so a script that later replaces
 * `JSON.stringify`, `String` and the like only changes what it sees itself, even though the
 * factory is compiled afterwards; the factories never read a global. Everything the helpers hand
 * the host is a string (JSON text or a log line): the host never walks guest objects, so getters,
 * proxies and cycles cannot run host-side or confuse it. The host re-checks every name and value
 * it receives regardless.
 */

/** Scripts compiled by `Function` report this file name in their stack traces. */
export const GUEST_SCRIPT_FILENAME = '<input>';

/**
 * Lines the `Function` constructor puts before the body (`(function anonymous(\n) {\n`), to
 * turn a stack-trace line into the line of the user's script.
 */
export const GUEST_SCRIPT_LINE_OFFSET = 2;

/** File name the helpers are evaluated under (shows in stack frames of their own functions). */
export const GUEST_HELPERS_FILENAME = 'hookflow-helpers.js';

/**
 * Built-ins captured from each fresh context before the user's script runs, as property paths
 * from the global object. The helper factories take them by these names, in this order.
 */
export const CAPTURED_BUILTINS = {
  stringify: ['JSON', 'stringify'],
  StringCtor: ['String'],
  ErrorCtor: ['Error'],
  TypeErrorCtor: ['TypeError'],
  apply: ['Reflect', 'apply'],
  slice: ['String', 'prototype', 'slice'],
} as const satisfies Record<string, readonly string[]>;

/** A captured built-in's name (the helper factories' parameter names). */
export type CapturedBuiltin = keyof typeof CAPTURED_BUILTINS;

/** The factory parameters, in order. */
export const CAPTURED_BUILTIN_NAMES = Object.keys(CAPTURED_BUILTINS) as CapturedBuiltin[];

const PARAMETERS = CAPTURED_BUILTIN_NAMES.join(', ');

/**
 * JSON helpers: the factory returns `{ toJson(value), saveText(name, value) }`.
 * `toJson` is `JSON.stringify` that refuses functions and symbols instead of dropping them and
 * turns `undefined` into `null`; `saveText` is `toJson` with `memory.save`'s error message.
 */
export const GUEST_JSON_HELPERS = String.raw`(function (${PARAMETERS}) {
  'use strict';
  function rejectNonJson(key, value) {
    const type = typeof value;
    if (type === 'function' || type === 'symbol') {
      throw new TypeErrorCtor('a ' + type + (key === '' ? '' : ' at key "' + key + '"') + ' is not JSON');
    }
    return value;
  }
  function toJson(value) {
    return stringify(value === undefined ? null : value, rejectNonJson);
  }
  return {
    toJson: toJson,
    saveText: function saveText(name, value) {
      try {
        return toJson(value);
      } catch (error) {
        throw new TypeErrorCtor('memory.save: the value for "' + StringCtor(name) + '" is not JSON-serialisable (' +
          StringCtor(error && error.message) + ')');
      }
    },
  };
})`;

/**
 * Format helpers: the factory returns `{ line(maxChars, ...values), describe(thrown) }`.
 * `line` formats console arguments (strings as is, errors as `name: message`, the rest as JSON
 * or `String(value)`), cut to `maxChars` before it is copied out of WASM; `describe` reports a
 * thrown value as the JSON that failure-messages.ts parses.
 */
export const GUEST_FORMAT_HELPERS = String.raw`(function (${PARAMETERS}) {
  'use strict';
  function clip(text, max) {
    return text.length > max ? apply(slice, text, [0, max]) : text;
  }
  function formatArg(value) {
    if (typeof value === 'string') return value;
    try {
      if (value instanceof ErrorCtor) return StringCtor(value.name) + ': ' + StringCtor(value.message);
      const text = stringify(value);
      return text === undefined ? StringCtor(value) : text;
    } catch (error) {
      try {
        return StringCtor(value);
      } catch (again) {
        return '[unprintable]';
      }
    }
  }
  return {
    line: function line(maxChars) {
      let text = '';
      for (let i = 1; i < arguments.length && text.length <= maxChars; i++) {
        text += (i === 1 ? '' : ' ') + formatArg(arguments[i]);
      }
      return clip(text, maxChars);
    },
    describe: function describe(thrown) {
      try {
        if (thrown instanceof ErrorCtor) {
          return stringify({
            name: StringCtor(thrown.name),
            message: clip(StringCtor(thrown.message), 2000),
            stack: clip(StringCtor(thrown.stack), 2000),
          });
        }
        return stringify({ value: clip(formatArg(thrown), 2000), isNull: thrown === null });
      } catch (error) {
        return stringify({ value: '[unprintable value]' });
      }
    },
  };
})`;
