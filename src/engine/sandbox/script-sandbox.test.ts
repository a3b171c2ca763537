import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isHookflowError } from '../../errors/catalogue.js';
import { runScript, type ScriptRunOptions, type ScriptRunResult } from './script-sandbox.js';

const MiB = 1024 * 1024;
const SECRET = 's3cr3t';
const order = { id: 'ord_1', customer: { email: 'ada@example.com' }, items: [{ sku: 'A-1' }] };

function run(code: string, overrides: Partial<ScriptRunOptions> = {}): Promise<ScriptRunResult> {
  return runScript({ code, memory: { requestBody: order }, timeoutMs: 1000, memoryLimitBytes: 16 * MiB, ...overrides });
}

/** The sandbox error's message; fails the test on success or on any other kind of error. */
async function sandboxFailure(code: string, overrides: Partial<ScriptRunOptions> = {}): Promise<string> {
  try {
    await run(code, overrides);
  } catch (error) {
    if (!isHookflowError(error, 'HOOKFLOW_ERR_SANDBOX')) throw error;
    expect(error.transient).toBe(false);
    return error.message;
  }
  throw new Error(`expected the script to fail: ${code}`);
}

async function expectHostUsable(): Promise<void> {
  await expect(run('return memory.load("requestBody").id')).resolves.toMatchObject({ output: 'ord_1' });
}

describe('runScript', () => {
  it('runs the seed script against the run memory', async () => {
    const result = await run('const o = memory.load("requestBody"); return o.customer.email;');
    expect(result).toEqual({ output: 'ada@example.com', saved: {}, logs: [] });
  });

  it('hands out deep copies from memory.load', async () => {
    const memory = { requestBody: structuredClone(order) };
    const result = await run(
      'const a = memory.load("requestBody"); a.customer.email = "x"; return [memory.load("requestBody").customer.email, memory.load("nope")];',
      { memory },
    );
    expect(result.output).toEqual(['ada@example.com', null]);
    expect(memory.requestBody.customer.email).toBe('ada@example.com');
  });

  it('collects memory.save calls, last value winning, and lets later loads see them', async () => {
    const result = await run(
      'memory.save("total", 1); memory.save("tags", ["a"]); memory.save("total", {n: 2}); return memory.load("total");',
    );
    expect(result.output).toEqual({ n: 2 });
    expect(result.saved).toEqual({ total: { n: 2 }, tags: ['a'] });
    expect(Object.keys(result.saved)).toEqual(['total', 'tags']);
  });

  it('rejects invalid memory.save names and values with the script line', async () => {
    expect(await sandboxFailure('\nmemory.save("a-b", 1)')).toBe(
      'Script threw: TypeError: memory.save: invalid variable name "a-b" (must match ^[A-Za-z_][A-Za-z0-9_]*$) (line 2)',
    );
    expect(await sandboxFailure('memory.save("__proto__", {})')).toMatch(/invalid variable name "__proto__"/);
    expect(await sandboxFailure('const a = {}; a.self = a; memory.save("a", a)')).toMatch(
      /^Script threw: TypeError: memory\.save: the value for "a" is not JSON-serialisable \(circular reference\)/,
    );
  });

  it('captures console output, formatting non-strings as JSON', async () => {
    const result = await run(
      'console.log("order", {id: 1}, 2, null, true); console.info("i"); console.warn("w"); console.error(new TypeError("bad")); return null;',
    );
    expect(result.logs).toEqual(['order {"id":1} 2 null true', '[info] i', '[warn] w', '[error] TypeError: bad']);
  });

  it('caps console output at maxLogBytes', async () => {
    const result = await run('for (let i = 0; i < 100; i++) console.log("0123456789"); return 1', { maxLogBytes: 25 });
    expect(result.logs).toEqual(['0123456789', '0123456789', '01234', '[hookflow] console output truncated at 25 bytes']);
  });

  it('awaits an async result, including work queued before returning', async () => {
    expect((await run('return (async () => { await null; return memory.load("requestBody").items[0].sku })()')).output).toBe('A-1');
    expect(await run('Promise.resolve().then(() => memory.save("late", true)); return 1')).toMatchObject({
      output: 1,
      saved: { late: true },
    });
    expect(await sandboxFailure('return Promise.reject(new RangeError("nope"))')).toBe('Script threw: RangeError: nope (line 1)');
  });

  it('turns undefined into null and refuses non-JSON return values', async () => {
    expect((await run('return undefined')).output).toBeNull();
    expect((await run('let x = 1')).output).toBeNull();
    const prefix = 'Script returned a value that is not JSON-serialisable';
    expect(await sandboxFailure('return () => 1')).toBe(`${prefix} (a function is not JSON)`);
    expect(await sandboxFailure('return { f() {} }')).toBe(`${prefix} (a function at key "f" is not JSON)`);
    expect(await sandboxFailure('return Symbol("s")')).toBe(`${prefix} (a symbol is not JSON)`);
    expect(await sandboxFailure('const a = []; a.push(a); return a')).toBe(`${prefix} (circular reference)`);
  });

  it('reports errors with their name, message and script line, never a host stack', async () => {
    const message = await sandboxFailure('const x = null;\nreturn x.field;');
    expect(message).toBe("Script threw: TypeError: cannot read property 'field' of null (line 2)");
    expect(message).not.toMatch(/node_modules|\.ts:|at /);
    expect(await sandboxFailure('throw "plain string"')).toBe('Script threw: plain string');
    expect(await sandboxFailure('throw { code: 7 }')).toBe('Script threw: {"code":7}');
    expect(await sandboxFailure('throw null')).toBe('Script threw: null (QuickJS also throws null when out of memory)');
    expect(await sandboxFailure('return x y')).toBe("Script has a syntax error: SyntaxError: expecting ';' (line 1)");
  });

  it('keeps a script that closes its wrapper early inside the sandbox', async () => {
    // QuickJS's Function constructor parses "(function anonymous() {" + body + "})" as one
    // program, so a body may close it early; the code still runs only in the guest.
    expect((await run('}); globalThis.outside = typeof process; (function () {')).output).toBeNull();
    expect((await run('return typeof outside')).output).toBe('undefined');
    expect(await sandboxFailure('}); null.x; (function () {')).toBe("Script threw: TypeError: cannot read property 'x' of null (line 1)");
  });

  it('isolates runs: a global set by one script is gone in the next', async () => {
    await run('globalThis.leaked = 42; Object.prototype.polluted = true; return 1');
    expect((await run('return [typeof leaked, typeof ({}).polluted]')).output).toEqual(['undefined', 'undefined']);
  });

  it('isolates runs: built-in prototypes and JSON patched by one script are pristine in the next', async () => {
    await run(`
      Array.prototype.map = function () { return 'patched' };
      Object.prototype.x = 1;
      JSON.stringify = () => '"hijacked"';
      String.prototype.slice = () => 'sliced';
      return 1`);
    const result = await run('return [[1, 2].map((n) => n * 2), typeof ({}).x, JSON.stringify({ a: 1 }), "abc".slice(1)]');
    expect(result.output).toEqual([[2, 4], 'undefined', '{"a":1}', 'bc']);
  });

  it('keeps memory, console and the output on the built-ins captured before the script ran', async () => {
    // The guest helpers are compiled lazily, after the script has replaced these globals.
    const result = await run(`
      String.prototype.slice = () => 'evil'; JSON.parse = () => 'evil'; JSON.stringify = () => '"evil"';
      String = () => 'evil'; Error = function () {}; TypeError = function () {}; Reflect.apply = () => 'evil';
      Object.freeze = () => {}; Function = () => () => 'evil';
      memory.save("a", { b: 1 });
      console.log({ c: 2 }, new RangeError("r"), "s");
      return [memory.load("a"), memory.load("requestBody").id, "text", null];`);
    expect(result).toEqual({ output: [{ b: 1 }, 'ord_1', 'text', null], saved: { a: { b: 1 } }, logs: ['{"c":2} RangeError: r s'] });
    expect(await sandboxFailure('JSON.stringify = () => "1"; return { f() {} }')).toBe(
      'Script returned a value that is not JSON-serialisable (a function at key "f" is not JSON)',
    );
    expect((await run('JSON.stringify = () => "1"; return "plain"')).output).toBe('plain');
  });

  it('installs memory and console as frozen, read-only, non-enumerable globals', async () => {
    const result = await run(`
      const d = (name) => { const p = Object.getOwnPropertyDescriptor(globalThis, name); return [p.writable, p.enumerable, p.configurable]; };
      memory = 1; console = 1; memory.load = () => 'x';
      const reassigned = typeof memory !== 'object' || typeof console !== 'object';
      return [d('memory'), d('console'), Object.isFrozen(memory), Object.isFrozen(console), reassigned, typeof memory.load('requestBody')];`);
    expect(result.output).toEqual([[false, false, false], [false, false, false], true, true, false, 'object']);
  });

  it('converts primitive results like JSON.stringify would', async () => {
    expect((await run('return [NaN, -0, Infinity]')).output).toEqual([null, 0, null]);
    expect((await run('return NaN')).output).toBeNull();
    expect(Object.is((await run('return -0')).output, 0)).toBe(true);
    expect((await run('return false')).output).toBe(false);
    expect((await run('return null')).output).toBeNull();
    expect((await run('return "a\\u0000\\ud800"')).output).toBe('a\u0000\ud800');
    expect(await sandboxFailure('return 1n')).toMatch(/^Script returned a value that is not JSON-serialisable/);
  });

  it('validates its options', async () => {
    expect(await sandboxFailure('return 1', { timeoutMs: 0 })).toMatch(/timeoutMs must be a positive number/);
    expect(await sandboxFailure('return 1', { memoryLimitBytes: 1000 })).toMatch(/memoryLimitBytes must be an integer/);
    expect(await sandboxFailure('return 1', { maxLogBytes: -1 })).toMatch(/maxLogBytes must be a non-negative integer/);
  });

  it('runs 500 scripts back to back without leaking runtimes or memory', async () => {
    // Each run allocates 3 MB in a 4 MiB bucket whose WASM memory is capped at 16 MiB: a run
    // whose runtime were not freed would exhaust it within a handful of iterations.
    for (let i = 0; i < 500; i++) {
      const result = await run(`const b = new Uint8Array(3e6); memory.save("n", ${i}); return b.length`, { memoryLimitBytes: 4 * MiB });
      expect(result.output).toBe(3e6);
    }
  });

  it('measures throughput of a trivial script (informational)', async () => {
    const runs = 1000;
    const started = performance.now();
    for (let i = 0; i < runs; i++) await run('return 1');
    const seconds = (performance.now() - started) / 1000;
    console.log(`[sandbox] ${runs} runs of "return 1": ${(runs / seconds).toFixed(0)} runs/s (${((seconds / runs) * 1e6).toFixed(0)} µs/run)`);
  });
});

describe('runScript with memory given as JSON text', () => {
  it('loads a variable from its text, which wins over a value of the same name', async () => {
    const result = await runScript({
      code: 'return [memory.load("body").items[1], memory.load("other"), memory.load("missing")];',
      memory: { body: { items: ['stale'] }, other: 'value' },
      memoryJson: { body: '{ "items": [1, 2] }' },
      timeoutMs: 1000,
      memoryLimitBytes: 16 * MiB,
    });
    expect(result.output).toEqual([2, 'value', null]);
  });
});

describe('runScript containment', () => {
  let previousSecret: string | undefined;
  beforeAll(() => {
    previousSecret = process.env['HOOKFLOW_TEST_SECRET'];
    process.env['HOOKFLOW_TEST_SECRET'] = SECRET;
  });
  afterAll(() => {
    if (previousSecret === undefined) delete process.env['HOOKFLOW_TEST_SECRET'];
    else process.env['HOOKFLOW_TEST_SECRET'] = previousSecret;
  });

  // Only the loops rely on the 200 ms deadline; the rest get room so a slow machine cannot
  // turn their own failure into a timeout.
  const escapes: Array<[string, string, RegExp, number]> = [
    ['the Function constructor', "return this.constructor.constructor('return process')().env.HOOKFLOW_TEST_SECRET", /^Script threw: ReferenceError: 'process' is not defined/, 5000],
    ['require', "return require('fs').readFileSync('/etc/passwd', 'utf8')", /^Script threw: ReferenceError: 'require' is not defined/, 5000],
    ['dynamic import', "return import('fs').then((fs) => fs.readFileSync('/etc/passwd', 'utf8'))", /^Script threw: ReferenceError: could not load module 'fs'/, 5000],
    ['globalThis.process', 'return globalThis.process.env.HOOKFLOW_TEST_SECRET', /^Script threw: TypeError: cannot read property 'env' of undefined/, 5000],
    ['eval', "return eval('process.env')", /^Script threw: ReferenceError: 'process' is not defined/, 5000],
    ['an infinite loop', 'while (true) {}', /^Script timed out after 200 ms$/, 200],
    ['an infinite async loop', 'return (async () => { for (;;) await null })()', /^Script timed out after 200 ms$/, 200],
    ['a never-settling promise', 'return new Promise(() => {})', /^Script timed out: its promise can never settle/, 200],
    ['a memory bomb', "let a = []; while (true) a.push('x'.repeat(1e6))", /^Script exceeded memory limit$/, 10_000],
    ['an object memory bomb', 'let a = []; while (true) a.push({ n: [a.length] })', /^Script exceeded memory limit$/, 10_000],
    // Out of memory inside promise jobs used to be reported as a success: the error rejected a
    // promise nobody awaited, or the script caught it.
    ['a memory bomb in an async loop nobody awaits', "(async () => { const a = []; for (;;) { a.push('x'.repeat(1e6)); await null; } })(); return 1", /^Script exceeded memory limit$/, 10_000],
    ['a memory bomb in a then callback', "Promise.resolve().then(() => { const a = []; for (;;) a.push('x'.repeat(1e6)); }); return 1", /^Script exceeded memory limit$/, 10_000],
    ['a memory bomb whose rejection is caught', "return (async () => { const a = []; for (;;) { a.push('x'.repeat(1e6)); await null; } })().catch(() => 'caught')", /^Script exceeded memory limit$/, 10_000],
    ['a memory bomb caught by try/catch', "try { const a = []; for (;;) a.push('x'.repeat(1e6)); } catch {} return 'survived'", /^Script exceeded memory limit$/, 10_000],
    ['deep recursion', 'function f(n) { return f(n + 1) + 1 } return f(0)', /^Script exceeded the maximum call stack size/, 5000],
    // Saved values are kept on the host, outside the QuickJS heap: they have a budget of their own.
    [
      'a memory bomb through memory.save',
      "const s = 'x'.repeat(1024 * 1024); for (let i = 0; ; i++) memory.save('v' + i, s)",
      /^Script threw: TypeError: memory\.save: saved values would exceed the script's memory limit \(saving "v15"\)/,
      10_000,
    ],
  ];

  it.each(escapes)('contains %s and stays usable', async (_name, code, expected, timeoutMs) => {
    const message = await sandboxFailure(code, { timeoutMs });
    expect(message).toMatch(expected);
    expect(message).not.toContain(SECRET);
    await expectHostUsable();
  });

  it('stops a loop of slow host calls at the deadline, even when the script catches the error', async () => {
    // Each load copies 1 MiB into the guest: seconds for the loop, while QuickJS's own
    // interrupt poll may not come round between the calls.
    const memory = { big: 'x'.repeat(MiB) };
    for (const code of [
      'for (let i = 0; i < 300; i++) memory.load("big"); return "finished"',
      'let refused = 0; for (let i = 0; i < 300; i++) { try { memory.load("big") } catch { refused++ } } return refused',
    ]) {
      expect(await sandboxFailure(code, { memory, timeoutMs: 100 })).toBe('Script timed out after 100 ms');
    }
    await expectHostUsable();
  });

  it('counts a replaced saved value once against the budget', async () => {
    // 20 saves of 1 MiB would be 20 MiB if each counted; under one name only the last one does.
    const code = "const s = 'x'.repeat(1024 * 1024); for (let i = 0; i < 20; i++) memory.save('same', s); return 'ok'";
    await expect(run(code, { memoryLimitBytes: 4 * MiB, timeoutMs: 30_000 })).resolves.toMatchObject({ output: 'ok' });
  });

  it('exposes no host globals, timers, network or file system', async () => {
    const result = await run(`return {
      keys: Object.keys(globalThis),
      types: [typeof process, typeof require, typeof module, typeof setTimeout, typeof fetch,
              typeof XMLHttpRequest, typeof WebSocket, typeof std, typeof os, typeof Deno, typeof Bun],
    }`);
    expect(result.output).toEqual({ keys: [], types: Array(11).fill('undefined') });
  });

  it('cannot find the host secret anywhere reachable', async () => {
    const result = await run(`
      const seen = new Set(); const strings = [];
      (function walk(value, depth) {
        if (depth > 4 || value === null || (typeof value !== 'object' && typeof value !== 'function') || seen.has(value)) return;
        seen.add(value);
        for (const key of Reflect.ownKeys(value)) {
          let child; try { child = value[key]; } catch { continue; }
          if (typeof child === 'string') strings.push(child);
          walk(child, depth + 1);
        }
      })(globalThis, 0);
      console.log(JSON.stringify(Object.getOwnPropertyNames(globalThis)));
      return strings.join('\\n');
    `);
    expect(JSON.stringify(result)).not.toContain(SECRET);
    const globals = JSON.parse(result.logs[0] ?? '[]') as string[];
    for (const name of ['process', 'require', 'module', 'Buffer', 'hostLoad', 'hostSave', 'hostLog']) {
      expect(globals).not.toContain(name);
    }
  });
});
