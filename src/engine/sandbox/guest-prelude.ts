/**
 * JavaScript evaluated inside each fresh QuickJS context before the user's script.
 *
 * It receives the three host bridges as arguments and keeps them in its closure, so the
 * script can reach them only through `memory` and `console`, never directly. Everything the
 * guest sends the host is a string (JSON text or a log line): the host never walks guest
 * objects, so getters, proxies and cycles cannot run host-side or confuse it. The built-ins it
 * uses are captured before the script runs; a script that patches them later only changes
 * what it sees itself. The host re-checks every name and value it receives regardless.
 */

/** File name the prelude is evaluated under (shows in stack frames of its own functions). */
export const GUEST_PRELUDE_FILENAME = 'hookflow-prelude.js';

/** Scripts compiled by `Function` report this file name in their stack traces. */
export const GUEST_SCRIPT_FILENAME = '<input>';

/**
 * Lines the `Function` constructor puts before the body (`(function anonymous(\n) {\n`), to
 * turn a stack-trace line into the line of the user's script.
 */
export const GUEST_SCRIPT_LINE_OFFSET = 2;

/**
 * The prelude's source. Evaluating it yields a function
 * `(hostLoad, hostSave, hostLog, maxLineChars) => kit`; calling that installs the non-enumerable
 * globals `memory` and `console` and returns `kit` = `{ compile(code), toJson(value),
 * describe(thrown) }`, the only guest functions the host calls. `maxLineChars` caps each console
 * line before it is copied out of WASM.
 */
export const GUEST_PRELUDE = String.raw`(function (hostLoad, hostSave, hostLog, maxLineChars) {
  'use strict';
  const FunctionCtor = Function;
  const StringCtor = String;
  const ErrorCtor = Error;
  const TypeErrorCtor = TypeError;
  const stringify = JSON.stringify;
  const parse = JSON.parse;
  const apply = Reflect.apply;
  const slice = StringCtor.prototype.slice;
  const freeze = Object.freeze;
  const defineProperty = Object.defineProperty;

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

  function logger(level) {
    return function () {
      let line = '';
      for (let i = 0; i < arguments.length && line.length <= maxLineChars; i++) {
        line += (i === 0 ? '' : ' ') + formatArg(arguments[i]);
      }
      hostLog(level, clip(line, maxLineChars));
    };
  }

  const memory = freeze({
    load: function load(name) {
      const text = hostLoad(name);
      return text === undefined ? undefined : parse(text);
    },
    save: function save(name, value) {
      let text;
      try {
        text = toJson(value);
      } catch (error) {
        throw new TypeErrorCtor('memory.save: the value for "' + StringCtor(name) + '" is not JSON-serialisable (' +
          StringCtor(error && error.message) + ')');
      }
      hostSave(name, text);
    },
  });
  const console = freeze({ log: logger('log'), info: logger('info'), warn: logger('warn'), error: logger('error') });
  defineProperty(globalThis, 'memory', { value: memory, enumerable: false, writable: false, configurable: false });
  defineProperty(globalThis, 'console', { value: console, enumerable: false, writable: false, configurable: false });

  function describe(thrown) {
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
  }

  return freeze({
    compile: function compile(code) { return FunctionCtor(code); },
    toJson: toJson,
    describe: describe,
  });
})`;
