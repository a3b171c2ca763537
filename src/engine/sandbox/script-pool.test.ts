import { afterAll, describe, expect, it, vi } from 'vitest';
import { isHookflowError } from '../../errors/catalogue.js';
import { createScriptPool } from './script-pool.js';

const pool = createScriptPool({ threads: 2 });
afterAll(() => pool.close());

const run = (code: string, memory: Record<string, unknown> = {}, timeoutMs = 1000) =>
  pool.run({ code, memory, timeoutMs, memoryLimitBytes: 32 * 1024 * 1024 });

describe('ScriptPool', () => {
  it('runs scripts on threads with memory, saves and logs', async () => {
    const result = await run('console.log("hi"); memory.save("seen", true); return memory.load("order").customer.email;', { order: { customer: { email: 'customer@example.com' } } });
    expect(result).toEqual({ output: 'customer@example.com', saved: { seen: true }, logs: ['hi'] });
  });

  it('keeps the event loop free while a script spins', async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 10);
    const spinning = run('const end = Date.now() + 400; while (Date.now() < end) {} return "done";');
    await expect(spinning).resolves.toMatchObject({ output: 'done' });
    clearInterval(timer);
    // Had the script run on this thread, no tick could have happened while it spun.
    expect(ticks).toBeGreaterThan(5);
  });

  it('fails a runaway script clearly and stays usable', async () => {
    const error = await run('while (true) {}', {}, 200).catch((e: unknown) => e);
    expect(isHookflowError(error, 'HOOKFLOW_ERR_SANDBOX')).toBe(true);
    expect((error as Error).message).toMatch(/timed out/i);
    await expect(run('return 1 + 1;')).resolves.toMatchObject({ output: 2 });
  });

  it('fails a script whose memory cannot be handed to a thread, and runs the ones around it', async () => {
    const deep = JSON.parse('['.repeat(10_000) + ']'.repeat(10_000)) as unknown;
    const results = await Promise.allSettled([run('return 1;'), run('return 2;', { deep }), run('return 3;')]);
    expect(results.map((result) => (result.status === 'fulfilled' ? result.value.output : (result.reason as Error).message))).toEqual([
      1, expect.stringMatching(/^Script input could not be handed to a script thread: Maximum call stack size exceeded/), 3,
    ]);
    await expect(run('return 4;')).resolves.toMatchObject({ output: 4 });
  });

  it('runs more scripts than threads, in order, all of them', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => run(`return ${i} * 2;`)));
    expect(results.map((r) => r.output)).toEqual(Array.from({ length: 20 }, (_, i) => i * 2));
  });

  it('cannot reach the host process', async () => {
    process.env['HOOKFLOW_POOL_TEST_SECRET'] = 's3cr3t-value';
    for (const code of ['return this.constructor.constructor("return process")().env', 'return globalThis.process', 'return require("fs")']) {
      const outcome = await run(code).then((r) => JSON.stringify(r.output), (e: Error) => e.message);
      expect(outcome).not.toContain('s3cr3t-value');
    }
  });

  it('runs a script queued on a busy thread as soon as the one ahead ends, each with its own result', async () => {
    const single = createScriptPool({ threads: 1, tasksPerThread: 2 });
    try {
      const order: string[] = [];
      const slow = single.run({ code: 'const end = Date.now() + 200; while (Date.now() < end) {} return "slow";', memory: {}, timeoutMs: 1000, memoryLimitBytes: 32 * 1024 * 1024 })
        .then((r) => order.push(String(r.output)));
      const quick = single.run({ code: 'return memory.load("n") + 1;', memory: { n: 41 }, timeoutMs: 1000, memoryLimitBytes: 32 * 1024 * 1024 })
        .then((r) => order.push(String(r.output)));
      await Promise.all([slow, quick]);
      expect(order).toEqual(['slow', '42']);
    } finally {
      await single.close();
    }
  });

  it('settles every script it was given when it closes, including those already handed to a thread', async () => {
    const closing = createScriptPool({ threads: 1, tasksPerThread: 2 });
    const outcomes = Array.from({ length: 4 }, () =>
      closing.run({ code: 'const end = Date.now() + 300; while (Date.now() < end) {} return 1;', memory: {}, timeoutMs: 1000, memoryLimitBytes: 32 * 1024 * 1024 }).then(
        () => 'done',
        (e: Error) => e.message,
      ),
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    await closing.close();
    expect(await Promise.all(outcomes)).toEqual(['Script pool closed', 'Script pool closed', 'Script pool closed', 'Script pool closed']);
  });

  it('starts threads on first use, no more than it may, and stops them when idle; the next script starts one again', async () => {
    const lazy = createScriptPool({ threads: 2, idleMs: 1000 });
    try {
      expect(lazy.threads()).toBe(0);
      const spin = 'const end = Date.now() + 100; while (Date.now() < end) {} return memory.load("i");';
      const results = await Promise.all(Array.from({ length: 5 }, (_, i) => lazy.run({ code: spin, memory: { i }, timeoutMs: 1000, memoryLimitBytes: 32 * 1024 * 1024 })));
      expect(results.map((r) => r.output)).toEqual([0, 1, 2, 3, 4]);
      expect(lazy.threads()).toBe(2);
      await vi.waitFor(() => expect(lazy.threads()).toBe(0), { timeout: 10_000, interval: 50 });
      await expect(lazy.run({ code: 'return 7;', memory: {}, timeoutMs: 1000, memoryLimitBytes: 32 * 1024 * 1024 })).resolves.toMatchObject({ output: 7 });
      expect(lazy.threads()).toBe(1);
    } finally {
      await lazy.close();
    }
  });

  it('replaces a hung thread: the script it ran fails, the one queued behind it runs on the new thread', async () => {
    const hanging = createScriptPool({
      threads: 1,
      tasksPerThread: 2,
      watchdogGraceMs: 50,
      threadModule: new URL('../../../test/fixtures/hanging-script-thread.mjs', import.meta.url),
    });
    try {
      const options = { memory: {}, timeoutMs: 100, memoryLimitBytes: 32 * 1024 * 1024 };
      const hung = hanging.run({ ...options, code: 'hang' }).then(() => 'finished', (e: Error) => e.message);
      const queued = hanging.run({ ...options, code: 'after' });
      expect(await hung).toMatch(/timed out after 100 ms \(thread replaced\)/);
      await expect(queued).resolves.toMatchObject({ output: 'after' });
      // The replacement thread keeps serving.
      await expect(hanging.run({ ...options, code: 'later' })).resolves.toMatchObject({ output: 'later' });
    } finally {
      await hanging.close();
    }
  });
});
